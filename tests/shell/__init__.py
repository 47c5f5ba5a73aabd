"""Tests of the shell (`bot/`): storage, delivery, scheduling, the CLI and the HTTP app."""
