"""The kinds of personal data andon can find and redact, by name (used by serve.redact and guard checks)."""

REDACTIONS = ("api_keys", "emails", "phones", "rrn", "cards")
