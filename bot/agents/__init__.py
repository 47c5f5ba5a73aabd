"""AI agents ask for approvals over API v1: `signoff mcp` and the `require_approval` helper.

An agent is a client like a pipeline: it talks to Signoff over HTTP only, so nothing here
imports the server's rooms; and nothing here can approve, reject or change the policy. Only
`bot.agents.mcp_server` and `bot.agents.descriptions` need the MCP SDK (`pip install
signoff[mcp]`); agent code imports `bot.agents.approval`, which needs the standard library,
`bot.client` and `workflows.redaction` alone.
"""
