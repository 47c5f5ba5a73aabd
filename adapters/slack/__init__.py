"""The Slack adapter: request authenticity, payload translation, Block Kit; never imports `bot`."""
