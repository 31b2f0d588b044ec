"""Versions: canonical form and content-addressed ids, rendering into messages, diffs."""
