"""Platform adapters: translate payloads to commands and render views; never import `bot`."""
