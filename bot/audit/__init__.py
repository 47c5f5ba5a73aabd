"""Audit: the ledger's operator tools (verify, export) and its RFC 3161 anchors; no adapters."""
