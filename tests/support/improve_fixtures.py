"""A workspace whose feature runs on the loopback stub, for the improvement loop and case suggestions.

The stub echoes the prompt it is sent, so a version's answer is its rendered prompt: ``v1`` always says
``approve`` (wrong on every ``reject`` case), and a prompt of ``{{ rule }}`` answers each case right.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

FEATURE = "moderate"
N_CASES = 40


def case_text(case_id: str) -> str:
    """A case's text, unique so a test can search what was sent for it."""
    return f"메뉴 설명 {case_id}: 전화 주세요"


def cases(n: int = N_CASES) -> list[dict[str, Any]]:
    """Three in four cases are ``reject`` (which v1 gets wrong), the rest ``approve``."""
    out = []
    for i in range(1, n + 1):
        case_id = f"m{i:03d}"
        label = "approve" if i % 4 == 0 else "reject"
        out.append({"id": case_id, "vars": {"text": case_text(case_id), "rule": label}, "label": label})
    return out


def write_improve_workspace(
    folder: Path,
    stub_url: str,
    extra_cases: list[dict[str, Any]] | None = None,
    leading_cases: list[dict[str, Any]] | None = None,
) -> Path:
    """andon.yaml with provider ``stub`` and feature ``moderate``, and data/cases.jsonl (``leading_cases`` first)."""
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "andon": 1,
        "name": "improve-test",
        "providers": {
            "stub": {
                "type": "openai",
                "base_url": stub_url,
                "api_key": "sk-stub",
                "model": "stub-model",
                "max_retries": 0,
            }
        },
        "features": {
            FEATURE: {
                "dataset": "data/cases.jsonl",
                "graders": [{"type": "label"}],
                "versions": {"v1": {"provider": "stub", "system": "메뉴 설명을 심사하세요.", "prompt": "approve"}},
            }
        },
    }
    (folder / "andon.yaml").write_text(json.dumps(config, ensure_ascii=False, indent=2), encoding="utf-8")
    (folder / "data").mkdir(exist_ok=True)
    rows = (leading_cases or []) + cases() + (extra_cases or [])
    (folder / "data" / "cases.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
    )
    return folder


def andon(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``andon ARGS`` in a subprocess (English unless ``--lang``), wide enough that lines are not wrapped."""
    env = {k: v for k, v in os.environ.items() if k not in ("ANDON_WORKSPACE", "ANDON_DATABASE_URL")}
    env |= {"ANDON_LANG": "en", "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "andon", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=240
    )
