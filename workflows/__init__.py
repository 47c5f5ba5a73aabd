"""The functional core: policy, inventory, state machines, ledger hashing.

Standard library and pydantic only: no I/O, no SDK, no clock, nothing from `bot` or `adapters`.
"""
