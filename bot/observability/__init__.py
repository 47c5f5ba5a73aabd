"""Observability: metrics and named crash points for drills; imports nothing of ours."""
