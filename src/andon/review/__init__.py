"""The human review queue: items, decisions, and decisions turned into test cases."""
