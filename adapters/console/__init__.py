"""The console: server-rendered HTML for the people who ask, decide and oversee."""
