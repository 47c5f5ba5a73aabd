"""GitHub's deployment protection rules: the signed webhook in, App tokens and verdicts out."""
