"""Objectives and key results (issue 9)."""
