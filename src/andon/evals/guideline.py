"""A dataset's labelling guideline: the Markdown file beside it, ``<dataset stem>.guideline.md``, with its hash.

The hash is recorded with every run and agreement report, so a label and a kappa can be traced to the
guideline the labellers read; changing the guideline changes the hash.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["SUFFIX", "Guideline", "find_guideline"]

SUFFIX = ".guideline.md"


@dataclass(frozen=True)
class Guideline:
    """The guideline file and the SHA-256 of its bytes."""

    path: Path
    sha256: str

    def to_json(self) -> dict[str, Any]:
        """JSON form recorded with a run: the file's name (beside the dataset) and its hash."""
        return {"file": self.path.name, "sha256": self.sha256}


def find_guideline(dataset: Path) -> Guideline | None:
    """The guideline beside ``dataset`` (``cases.yaml`` → ``cases.guideline.md``), or None when there is none."""
    path = dataset.with_name(dataset.stem + SUFFIX)
    try:
        data = path.read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        return None
    return Guideline(path, hashlib.sha256(data).hexdigest())
