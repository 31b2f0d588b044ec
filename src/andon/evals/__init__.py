"""Evaluations: datasets, graders, runner, metrics and statistics, compare, gate, reports."""
