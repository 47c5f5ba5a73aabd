"""API v1 for pipelines and agents: JSON to commands, requests to views; never imports `bot`."""
