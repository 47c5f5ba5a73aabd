"""Services: one transaction per command, each through the unit of work; no adapter SDKs."""
