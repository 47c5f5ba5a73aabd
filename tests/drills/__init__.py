"""The slow tier: real processes killed mid-write, load, failover, sweeps of 10,000 systems."""
