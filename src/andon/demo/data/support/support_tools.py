"""The demo market's tools, bound to this workspace's folder (andon.yaml names them as support_tools:…)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from andon.demo import support_flow_tools as market

HERE = Path(__file__).resolve().parent


def lookup_order(order_id: str) -> dict[str, Any]:
    return market.lookup_order(HERE, order_id)


def refund(order_id: str, amount: int, reason: str = "") -> dict[str, Any]:
    return market.issue_refund(HERE, order_id, amount, reason)


def refund_state(case: Any, trajectory: Any) -> dict[str, Any]:
    return market.refund_state(HERE, case, trajectory)
