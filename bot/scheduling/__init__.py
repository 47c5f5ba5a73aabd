"""Scheduling: what triggers the sweeps and which process runs them; no adapter SDKs."""
