"""Where an evaluation's cells run: the executor interface, the local and Ray executors, and their registry."""

from __future__ import annotations

from andon.evals.executors.base import CellJob, CellOutput, Executor, ExecutorError, ExecutorSettings
from andon.evals.executors.registry import REGISTRY, build_executor, known_executors

__all__ = [
    "REGISTRY", "CellJob", "CellOutput", "Executor", "ExecutorError", "ExecutorSettings", "build_executor",
    "known_executors",
]  # fmt: skip
