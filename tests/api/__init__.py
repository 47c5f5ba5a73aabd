"""API v1 tests: pipelines and agents ask through a real `signoff serve`, people decide in Slack."""
