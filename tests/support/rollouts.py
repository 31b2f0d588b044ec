"""A workspace for canary rollout tests and the bench: one feature with a good, an equal and a failing version.

write_rollout_workspace(tmp_path, steps=[{"weight": 20, "calls": 30}])
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

RULES = '''\
"""Rule functions of the rollout test workspace."""


def good(variables):
    """Reject a menu text with a phone number, approve the rest."""
    return {"decision": "reject" if "010" in str(variables.get("text", "")) else "approve"}


def same(variables):
    """Behaves as good does (another version id, the same answers)."""
    return {"decision": "reject" if "010" in str(variables.get("text", "")) else "approve"}


def broken(variables):
    """Fails on every call, as a canary with a bad prompt would."""
    raise RuntimeError("the canary broke on purpose")
'''

# Latency is compared with a wide tolerance: two rule functions differ only by scheduling noise.
METRICS: list[dict[str, Any]] = [
    {"metric": "error_rate", "tolerance": 0.05, "weight": 2},
    {"metric": "latency_ms", "tolerance": 3.0, "weight": 1},
]


def rollout_config(
    steps: Sequence[Mapping[str, Any]], *, metrics: Sequence[Mapping[str, Any]] | None = None, **extra: Any
) -> dict[str, Any]:
    """andon.yaml (as a dict): feature ``menu`` with versions v1 (good), v2 (same) and v3 (broken)."""
    return {
        "andon": 1,
        "name": "rollout-test",
        "features": {
            "menu": {
                "versions": {
                    "v1": {"python": "ro_rules:good"},
                    "v2": {"python": "ro_rules:same"},
                    "v3": {"python": "ro_rules:broken"},
                },
                "serve": {"routing": {"fallback": "off"}},
                "rollout": {"sticky": "user", "steps": list(steps), "metrics": list(metrics or METRICS), **extra},
            }
        },
        "gateway": {"auth": False},
    }


def write_rollout_workspace(folder: Path, steps: Sequence[Mapping[str, Any]], **options: Any) -> Path:
    """Write andon.yaml and ro_rules.py into ``folder``; options as for ``rollout_config``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "andon.yaml").write_text(json.dumps(rollout_config(steps, **options), indent=2), encoding="utf-8")
    (folder / "ro_rules.py").write_text(RULES, encoding="utf-8")
    return folder


def promote_stable(folder: Path, database_url: str | None, version: str = "v1", feature: str = "menu") -> None:
    """Make ``version`` live (forced: the test workspace is never evaluated)."""
    from andon.deploy import promote
    from andon.workspace import Workspace

    with Workspace.open(folder, database_url=database_url) as ws:
        promote(ws, feature, version, force=True, actor="tests", reason="rollout test: the stable version")
