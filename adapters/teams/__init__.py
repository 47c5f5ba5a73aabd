"""Microsoft Teams over the Microsoft 365 Agents SDK; never imports `bot`."""
