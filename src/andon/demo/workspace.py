"""The demo workspace: andon.yaml for the menu-review feature plus the bundled cases and photos."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from andon.demo import DATA_DIR

FEATURE = "menu-review"
TEMPLATE = Path(__file__).with_name("workspace.yaml")


def create_workspace(path: Path, language: str, *, fresh: bool) -> Path:
    """Write andon.yaml and copy the bundled cases and photos into ``path/data`` (kept if already there)."""
    if fresh and (path / "andon.yaml").exists():
        shutil.rmtree(path)
    path.mkdir(parents=True, exist_ok=True)
    (path / ".andon").mkdir(exist_ok=True)
    data = path / "data"
    if not (data / "cases.jsonl").exists():
        shutil.copytree(DATA_DIR, data, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__"))
    template = TEMPLATE.read_text(encoding="utf-8")
    # The demo has the machine to itself, so the model may use every core it is allowed (2 threads halve
    # a call on an idle 2-core machine; the library default stays at half, safe on shared machines).
    threads = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    (path / "andon.yaml").write_text(template.format(language=language, threads=threads), encoding="utf-8")
    return path
