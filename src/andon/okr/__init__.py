"""Objectives and key results: periods, progress and health, definitions as code, check-ins and the board."""
