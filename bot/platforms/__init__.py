"""Platforms: the only rooms of the shell that know an adapter's parts; each mounts one
platform when its credentials are set."""
