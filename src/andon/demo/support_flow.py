"""The demo's third part, a Korean second-hand-market support flow (당근 style): its workspace and what it reads.

The workspace sits beside the menu demo's (``andon-demo/market-support``): andon.yaml with two flow versions
(triage → order desk with a lookup tool, refund desk whose refund tool needs a person's approval) shared by
two features, the orders table, the multi-turn cases of each feature, and ``support_tools.py`` binding the
tools (andon.demo.support_flow_tools) to the folder. The refund records land in ``refunds.sqlite`` there.
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any

from andon.agents.flow import output_kind
from andon.agents.trajectory import ToolEvent, Trajectory, TurnEvent
from andon.evals.model import CellResult, RunReport

FOLDER = "market-support"  # inside the menu demo's workspace
DATA = Path(__file__).resolve().parent / "data" / "support"
FEATURES = ("market-support", "market-triage")
VERSIONS = ("v1-basic", "v2-clarify")
PROVIDER = "local"
MAX_TOKENS = 96  # a handoff, a tool call with its JSON, or one or two Korean sentences (64 cut refund calls)
DEFAULT_CASES = 2  # per feature in `andon demo` (each case is 2-4 model turns); `andon eval FEATURE` runs all
APPROVAL_CASES = ("refund-broken", "refund-not-sent")  # refunds the policy allows: the demo serves these
LOCAL_PROVIDER = """\
  local:
    type: local
    model: qwen2.5-coder-0.5b      # embedded, offline, sha256-verified; try qwen2.5-coder-1.5b for better Korean
    timeout_s: 300                 # a long prompt on a busy machine
    max_retries: 1
    options:
      n_threads: {threads}"""


def threads() -> int:
    """llama.cpp's threads: this process's cores, or one when the machine is already busier than its cores.

    On a shared, loaded machine llama.cpp's threads wait on each other whenever one is descheduled; measured on
    2 cores at load 17, one thread answered a triage turn in ~35 s where two did not finish in 240 s.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return 1 if os.getloadavg()[0] >= cores else cores


def create_workspace(parent: Path, language: str, *, fresh: bool, providers: str | None = None) -> Path:
    """Write ``parent/market-support``; ``providers``: the ``providers:`` entries (YAML, indented), default the
    embedded model's. Cases and orders already there are kept (a user's edits stay); refunds only go with --fresh."""
    root = parent / FOLDER
    if fresh and root.exists():
        shutil.rmtree(root)
    (root / ".andon").mkdir(parents=True, exist_ok=True)
    data = root / "data"
    data.mkdir(exist_ok=True)
    for name in ("orders.json", "support.jsonl", "triage.jsonl"):
        if not (data / name).exists():
            shutil.copyfile(DATA / name, data / name)
    shutil.copyfile(DATA / "support_tools.py", root / "support_tools.py")
    block = providers if providers is not None else LOCAL_PROVIDER.format(threads=threads())
    text = Template((DATA / "andon.yaml").read_text(encoding="utf-8")).substitute(
        language=language, providers=block, provider=PROVIDER, max_tokens=MAX_TOKENS
    )
    (root / "andon.yaml").write_text(text, encoding="utf-8")
    return root


def approval_turns(root: Path) -> list[tuple[str, list[str]]]:
    """The user turns of the refund cases the demo serves for approval, in order (from the workspace's cases)."""
    cases = [json.loads(line) for line in (root / "data" / "support.jsonl").read_text("utf-8").splitlines() if line]
    by_id = {c["id"]: c for c in cases}
    return [(k, list(by_id[k]["vars"]["turns"])) for k in APPROVAL_CASES if k in by_id]


@dataclass(frozen=True)
class VersionFigures:
    """One version's cells in one feature's run: how many passed of those graded, parked, and their kinds."""

    version: str
    cases: int
    graded: int
    passed: int
    parked: int
    kinds: dict[str, int]
    graders: dict[str, tuple[int, int]]  # grader → (passed, graded)


def figures(report: RunReport, steps_of: dict[str, list[dict[str, Any]]]) -> list[VersionFigures]:
    """Per version, from the stored cells (``steps_of``: output id → its steps, for the output kinds)."""
    out: list[VersionFigures] = []
    for summary in report.summaries:
        cells = [c for c in report.cells if c.version_id == summary.version_id]
        out.append(_version_figures(summary.version_name, cells, steps_of))
    return out


def _version_figures(name: str, cells: list[CellResult], steps_of: dict[str, list[dict[str, Any]]]) -> VersionFigures:
    graded = [c for c in cells if c.status == "ok" and c.grading_error is None]
    kinds = Counter(output_kind(steps_of.get(c.output_id or "", [])) or c.status for c in cells)
    per: dict[str, list[bool]] = {}
    for cell in graded:
        for grade in cell.grades:
            if grade.weight > 0 and not grade.error:
                per.setdefault(grade.grader, []).append(grade.passed)
    return VersionFigures(
        name, len(cells), len(graded), sum(c.passed for c in graded), sum(c.status == "parked" for c in cells),
        dict(sorted(kinds.items())), {g: (sum(v), len(v)) for g, v in per.items()},
    )  # fmt: skip


def path_text(path: Trajectory, steps: Sequence[Mapping[str, Any]] = ()) -> str:
    """A run's path in one line: ``triage → order → lookup_order(A1001) → answer``; a run parked at a tool call
    (``steps``' last one waits) ends with that call: ``refund(A1002, 12000) ⏸``."""
    parts: list[str] = []
    for event in path.events:
        if isinstance(event, TurnEvent) and event.agent and (not parts or parts[-1] != event.agent):
            parts.append(event.agent)
        elif isinstance(event, ToolEvent):
            shown = ", ".join(str(v) for v in (event.arguments or {}).values())
            decided = f" [{event.approval}]" if event.approval else ""
            parts.append(f"{event.name}({shown}){decided}")
    ending = f"limit:{path.limit}" if path.limit else path.output_kind
    parked = steps[-1].get("parked") if steps else None
    if isinstance(parked, dict) and parked.get("remaining"):
        waiting = parked["remaining"][0]
        try:
            values = json.loads(waiting.get("arguments") or "{}")
        except ValueError:
            values = {}
        shown = ", ".join(str(v) for v in values.values()) if isinstance(values, dict) else ""
        ending = f"{waiting.get('name')}({shown}) ⏸"
    return " → ".join([*parts, ending])


MAX_DECISIONS = 3  # a small model may ask again after each decision: the demo decides at most this many


@dataclass(frozen=True)
class Decision:
    """What the refund desk's lead decides on a parked refund call: the CLI action, edited arguments, and why."""

    action: str  # approve | reject
    arguments: dict[str, Any] | None
    reason_key: str
    why_key: str
    values: dict[str, Any]


def review_refund(root: Path, asked: Any, approved: set[str]) -> Decision:
    """The lead's rule: one refund per order, of what was paid. A second refund of an order is rejected; an amount
    other than the order's price is corrected to it; anything else is approved as asked. ``approved`` collects the
    orders approved so far."""
    arguments = dict(asked) if isinstance(asked, dict) else {}
    order = str(arguments.get("order_id") or "").upper()
    orders = json.loads((root / "data" / "orders.json").read_text(encoding="utf-8"))
    if order in approved or order not in orders:
        key = "agdemo.review.again" if order in approved else "agdemo.review.unknown"
        return Decision("reject", None, key, key, {"order": order or "-"})
    approved.add(order)
    price = int(orders[order].get("price") or 0)
    if arguments.get("amount") != price:
        edited = {**arguments, "order_id": order, "amount": price}
        values = {"order": order, "asked": arguments.get("amount"), "price": f"{price:,}"}
        return Decision("approve", edited, "agdemo.review.corrected", "agdemo.review.corrected", values)
    return Decision("approve", None, "agdemo.approval.reason", "agdemo.review.as_asked", {"order": order})
