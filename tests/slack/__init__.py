"""Tests of the Slack surface: signed requests to the real bolt app, a local Slack Web API."""
