"""Tests of the pure core (`workflows/`) and the layer rules: no database, no HTTP, fast."""
