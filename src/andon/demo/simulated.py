"""Simulated traffic for ``andon demo --watch``: the menu cases, mixed, through a stand-in for the model.

The stand-in (``review``) runs only the demo's text rules, so a call takes microseconds instead of the embedded
model's second: the watch part of the demo is about the cord, not the model, and says so when it prints.
"""

from __future__ import annotations

import json
import random
from typing import Any

from andon.demo import DATA_DIR
from andon.demo.checks import description_violations


def review(variables: dict[str, Any]) -> dict[str, Any]:
    """Simulated model: reject a menu whose name or description breaks a text rule, approve the rest."""
    violations = description_violations(str(variables.get("description", "")), str(variables.get("menu_name", "")))
    return {"decision": "reject" if violations else "approve", "violations": violations}


def menus() -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """The bundled cases' texts the stand-in approves, and those it rejects (photos left out: text only)."""
    clean: list[dict[str, str]] = []
    breaking: list[dict[str, str]] = []
    for line in (DATA_DIR / "cases.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        case = json.loads(line)["vars"]
        menu = {"menu_name": str(case.get("menu_name", "")), "description": str(case.get("description", ""))}
        (breaking if review(menu)["decision"] == "reject" else clean).append(menu)
    return clean, breaking


def batch(clean: list[dict[str, str]], breaking: list[dict[str, str]], *, calls: int, rejects: int,
          rng: random.Random) -> list[dict[str, str]]:  # fmt: skip
    """``calls`` menus of which ``rejects`` break a rule, shuffled."""
    chosen = [rng.choice(breaking) for _ in range(rejects)] + [rng.choice(clean) for _ in range(calls - rejects)]
    rng.shuffle(chosen)
    return chosen
