"""The kinds of personal data andon can find and redact, by name (used by serve.redact and guard checks)."""

REDACTIONS = ("api_keys", "emails", "phones", "rrn", "cards")
# Opt-in kinds: named in serve.data_use.mask / redact or a guard's pii kinds, never on by default (Korean postal
# addresses, andon.engine.pii_korean; measured by bench/pii.py).
OPTIONAL_KINDS = ("addresses",)
KINDS = REDACTIONS + OPTIONAL_KINDS
