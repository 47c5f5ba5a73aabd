"""The imperative shell and composition root: settings, store, outbox, app, CLI.

The only package with I/O; it may import `workflows` and `adapters`. Nothing runs at import.
"""
