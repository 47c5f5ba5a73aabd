"""Policy files: reading the policy file and holding the one in force; imports only the core."""
