"""Tests of the Teams surface: RS256 tokens from a local key, a local Bot Connector and Graph."""
