"""A minimal stand-in for ``andon.watch.incidents`` (built by the `incidents` helper on its own branch).

It follows WATCH.md's signatures (open_incident, advance, STAGES, Incident) and keeps incidents in a JSON
file in the workspace's .andon folder, under a file lock, so watcher processes share it. Tests only: the
lead removes it once the real module is merged. ``ANDON_STANDIN_BLOCK=advance`` makes ``advance`` print a
marker and hang (a watcher to SIGKILL mid-action); ``=fail-advance-once`` makes it raise once per process.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import time
import types
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

STAGES = ("detected", "mitigated", "announced", "confirmed", "impact_assessed", "decided", "closed")
BLOCK_ENV = "ANDON_STANDIN_BLOCK"
_failed_once: set[str] = set()


@dataclass(frozen=True)
class Incident:
    """The WATCH.md record."""

    id: str
    feature: str
    title: str
    stage: str
    monitor: str | None
    metric: str | None
    opened_at: datetime
    closed_at: datetime | None
    false_alarm: bool | None
    cause: str | None
    decision: str | None
    runbook: str | None
    owner: str | None
    details: dict[str, Any]
    stages: dict[str, datetime]


def _file(ws: Any) -> Path:
    return Path(ws.root) / ".andon" / "standin-incidents.json"


@contextmanager
def _locked(ws: Any) -> Iterator[list[dict[str, Any]]]:
    path = _file(ws)
    path.parent.mkdir(parents=True, exist_ok=True)
    with (path.parent / "standin-incidents.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        rows = json.loads(path.read_text()) if path.exists() else []
        yield rows
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(rows))
        os.replace(tmp, path)


def _record(row: dict[str, Any]) -> Incident:
    stages = {k: datetime.fromisoformat(v) for k, v in row["stages"].items()}
    return Incident(
        id=row["id"], feature=row["feature"], title=row["title"], stage=row["stage"], monitor=row["monitor"],
        metric=row["metric"], opened_at=datetime.fromisoformat(row["opened_at"]), closed_at=None,
        false_alarm=row.get("false_alarm"), cause=None, decision=None, runbook=row["runbook"], owner=row["owner"],
        details=row["details"], stages=stages,
    )  # fmt: skip


def open_incident(
    ws: Any,
    *,
    feature: str,
    title: str,
    actor: str,
    detected_at: datetime,
    monitor: str | None = None,
    metric: str | None = None,
    dedupe_key: str | None = None,
    runbook: str | None = None,
    owner: str | None = None,
    details: dict[str, Any] | None = None,
) -> Incident:
    """Open (or return the still-open incident with the same dedupe_key); stage `detected`."""
    with _locked(ws) as rows:
        for row in rows:
            if dedupe_key is not None and row["dedupe_key"] == dedupe_key:
                return _record(row)
        row = {
            "id": f"inc_{len(rows) + 1:04d}", "feature": feature, "title": title, "stage": "detected",
            "monitor": monitor, "metric": metric, "opened_at": datetime.now(UTC).isoformat(), "runbook": runbook,
            "owner": owner, "details": details or {}, "dedupe_key": dedupe_key, "actors": {"detected": actor},
            "stages": {"detected": detected_at.isoformat()}, "notes": {}, "false_alarm": None,
        }  # fmt: skip
        rows.append(row)
        return _record(row)


def advance(
    ws: Any, incident_id: str, stage: str, *, actor: str, note: str | None = None, at: datetime | None = None,
    **fields: Any,
) -> Incident:  # fmt: skip
    """Move to `stage`, never backwards and never twice (the real one notifies once per stage)."""
    block = os.environ.get(BLOCK_ENV)
    if block == "advance":
        print("standin: advancing", flush=True)
        time.sleep(3600)
    if block == "fail-advance-once" and incident_id not in _failed_once:
        _failed_once.add(incident_id)
        raise RuntimeError("standin: the process died here")
    with _locked(ws) as rows:
        row = next(r for r in rows if r["id"] == incident_id)
        if stage in row["stages"] or STAGES.index(stage) < STAGES.index(row["stage"]):
            raise ValueError(f"incident {incident_id} is at {row['stage']}; cannot record {stage} again")
        row["stage"] = stage
        row["stages"][stage] = (at or datetime.now(UTC)).isoformat()
        row["actors"][stage] = actor
        row["notes"][stage] = note
        if stage == "confirmed" and "false_alarm" in fields:
            row["false_alarm"] = bool(fields["false_alarm"])
        return _record(row)


def false_alarm_counts(ws: Any) -> dict[str, int]:
    """Incidents confirmed as false alarms, per monitor."""
    counts: dict[str, int] = {}
    for row in all_rows(ws.root):
        if row.get("false_alarm") and row["monitor"]:
            counts[row["monitor"]] = counts.get(row["monitor"], 0) + 1
    return counts


def all_rows(root: Path) -> list[dict[str, Any]]:
    """Every stored incident as written (for assertions)."""
    path = Path(root) / ".andon" / "standin-incidents.json"
    return json.loads(path.read_text()) if path.exists() else []


def install() -> types.ModuleType:
    """Make ``andon.watch.incidents`` this module (in this process)."""
    import andon.watch

    module = sys.modules[__name__]
    sys.modules["andon.watch.incidents"] = module
    andon.watch.incidents = module  # type: ignore[attr-defined]
    return module


if __name__ == "__main__":
    # python tests/watch/standin_incidents.py ANDON-ARGS...: the andon CLI with this stand-in installed.
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    install()
    from andon.cli import main

    sys.argv = ["andon", *sys.argv[1:]]
    main()
