"""Tests of the CI client, run as a subprocess of a bare interpreter (`python -I -S`)."""
