"""Tests of the ledger proving itself: anchors, append-only tables, the auditor's check."""
