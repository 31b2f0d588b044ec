"""The demo market's tools and its final-state check, over one workspace's files: ``data/orders.json`` (the
orders table the lookup reads) and ``refunds.sqlite`` (the refund records the refund tool writes).

The workspace's ``support_tools.py`` binds these to its own folder, so ``python: support_tools:refund`` in
andon.yaml finds them; nothing here keeps state between calls.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from andon.agents.trajectory import Trajectory
from andon.evals.model import Case
from andon.messages import t

ORDERS = Path("data") / "orders.json"
REFUNDS = "refunds.sqlite"


def lookup_order(root: Path, order_id: str) -> dict[str, Any]:
    """One order of the demo table, or an error the model reads (an unknown id is the buyer's typo, not a crash)."""
    orders = json.loads((root / ORDERS).read_text(encoding="utf-8"))
    key = order_id.strip().upper()
    if key not in orders:
        return {"error": t("agdemo.tool.unknown_order", language="ko", order=order_id), "known_format": "A1001"}
    return {"order_id": key, **orders[key]}


def issue_refund(root: Path, order_id: str, amount: int, reason: str = "") -> dict[str, Any]:
    """Write one refund record (this runs only after a person approved the call: the tool is ``approval: human``)."""
    db = sqlite3.connect(root / REFUNDS)
    try:
        with db:
            db.execute(
                "create table if not exists refunds (order_id text, amount integer, reason text, created_at text)"
            )
            db.execute(
                "insert into refunds values (?, ?, ?, ?)",
                (order_id.strip().upper(), int(amount), reason, datetime.now(UTC).isoformat()),
            )
    finally:
        db.close()
    return {"refunded": int(amount), "order_id": order_id.strip().upper(), "status": "환불 접수"}


def refund_records(root: Path) -> list[tuple[str, int]]:
    """Every refund record written so far: (order id, amount)."""
    path = root / REFUNDS
    if not path.exists():
        return []
    db = sqlite3.connect(path)
    try:
        return [(str(a), int(b)) for a, b in db.execute("select order_id, amount from refunds order by rowid")]
    finally:
        db.close()


def _price(root: Path, order: str) -> int | None:
    orders = json.loads((root / ORDERS).read_text(encoding="utf-8"))
    price = orders.get(order, {}).get("price")
    return int(price) if isinstance(price, int) else None


def refund_state(root: Path, case: Case, path: Trajectory) -> dict[str, Any]:
    """The refund records agree with the run: a record for the case's order exactly when a refund call of it ran
    (after a person's approval), never more than was paid; none when the case must not be refunded (``refund: no``)."""
    order = str(case.vars.get("order_id") or "").upper()
    ran = [
        c for c in path.tool_calls if c.name == "refund" and c.error is None and c.approval in ("approved", "edited")
    ]
    ran_for_order = [c for c in ran if str((c.arguments or {}).get("order_id", "")).upper() == order]
    written = [r for r in refund_records(root) if r[0] == order]
    if str(case.vars.get("refund")) == "no" and (ran_for_order or written):
        return {"passed": False, "reason": t("agdemo.state.refunded", order=order, records=len(written))}
    if ran_for_order and not written:
        return {"passed": False, "reason": t("agdemo.state.no_record", order=order)}
    paid = _price(root, order)
    if paid is not None and sum(amount for _, amount in written) > paid:
        total = f"{sum(amount for _, amount in written):,}"
        return {"passed": False, "reason": t("agdemo.state.over", order=order, total=total, paid=f"{paid:,}")}
    return {"passed": True, "reason": t("agdemo.state.ok", order=order or "-", records=len(written),
                                        calls=len(ran_for_order))}  # fmt: skip
