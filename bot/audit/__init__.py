"""Audit: operator tools for the ledger (verify, export); no adapters."""
