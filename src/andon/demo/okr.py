"""The demo's objective: key results bound to the menu-review feature's numbers, filled after the evaluation.

The definitions are applied (idempotent by key), the bindings synced when the sync is installed, and the
accuracy key result gets the evaluated accuracy of the live version when nothing else recorded it.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
from datetime import datetime
from pathlib import Path

from andon.demo.workspace import FEATURE
from andon.deploy import live_version
from andon.errors import AndonError
from andon.evals.model import RunReport
from andon.okr import definitions
from andon.okr.objectives import record_checkin
from andon.okr.periods import period_of
from andon.store.models import utcnow
from andon.workspace import Workspace

TEMPLATE = Path(__file__).with_name("okr.yaml")
FILE = "okr.yaml"
ACCURACY_KR = "menu-review-accuracy"
AUTHOR = "andon demo"


def write_definitions(root: Path, now: datetime | None = None) -> Path:
    """Write the demo's ``okr.yaml`` for the quarter of ``now`` (kept when it is there already)."""
    path = root / FILE
    if not path.exists():
        quarter = period_of((now or utcnow()).date()).id
        path.write_text(TEMPLATE.read_text(encoding="utf-8").replace("PERIOD", quarter), encoding="utf-8")
    return path


def seed_objectives(ws: Workspace, report: RunReport | None, now: datetime | None = None) -> str:
    """Apply the demo's objectives, sync their bindings, and record the live version's accuracy; the period."""
    now = now or utcnow()
    path = write_definitions(ws.root, now)
    plan = definitions.plan(ws.store, path, now=now)
    definitions.apply(ws.store, plan, actor=AUTHOR)
    if importlib.util.find_spec("andon.okr.sync") is not None:
        # A binding without data yet (no traffic served) is no reason to stop the demo.
        with contextlib.suppress(AndonError):
            importlib.import_module("andon.okr.sync").sync(ws, now)
    kr = ws.store.key_result(ACCURACY_KR)
    period = ws.store.objective(kr.objective).period
    if ws.store.latest_checkin(kr.id) is None and report is not None:
        try:
            live: str | None = live_version(ws, FEATURE).version_id
        except AndonError:
            live = None  # nothing passed the gate: the last version evaluated stands in
        summary = next((s for s in report.summaries if s.version_id == live), None) or report.summaries[-1]
        accuracy = summary.metrics.get("accuracy")
        if accuracy is not None:
            record_checkin(
                ws.store, kr.id, float(accuracy.value), author=AUTHOR, source="demo",
                comment=f"{summary.version_name}: accuracy on {report.run.n_cases} labelled cases",
                snapshot={"run": report.run.id, "version": summary.version_name, "version_id": summary.version_id},
                step=report.run.id, at=now,
            )  # fmt: skip
    return period
