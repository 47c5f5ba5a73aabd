"""The GitHub deployment gate, over real HTTP to stand-ins of GitHub and Slack."""
