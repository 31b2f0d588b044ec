"""The flagship demo: menu-photo review (photo + Korean menu text), with its dataset and rule checks."""

from __future__ import annotations

from pathlib import Path

DATA_DIR = Path(__file__).resolve().parent / "data"
"""The bundled dataset: ``cases.jsonl`` and ``images/``; photo paths in the cases are relative to it."""

__all__ = ["DATA_DIR"]
