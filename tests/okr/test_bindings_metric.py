"""The ``andon_metric`` binding against traces written by a real gateway run (`andon serve` on the stub provider),
on SQLite and PostgreSQL: label share, error rate, latency percentiles, cost per 1,000 calls, calls, review
backlog and wait, and the latest gate verdict's accuracy from a real evaluation.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from tests.conftest import create_postgres_database, drop_postgres_database
from tests.support.gateway_server import GatewayServer, StubProcess

from andon import deploy
from andon.evals.dataset import load_dataset
from andon.evals.runner import run_evaluation
from andon.okr.bindings import BindingContext, BindingError, Reading, build_binding
from andon.store.okr import KeyResult, Period
from andon.workspace import Workspace

RULES = '''\
"""Rules of the binding test workspace."""


def decide(variables):
    """Answer the decision asked for, or fail when asked to (a broken call, traced as an error)."""
    if variables.get("fail"):
        raise RuntimeError("asked to fail")
    return {"decision": variables.get("decision", "approve")}
'''
DECISIONS = ["approve"] * 7 + ["reject"] * 3
RULE_CALLS = [False, True, False, False, True, False]  # fail?
STOPPED_CALLS = 2
# The evaluation: the stub echoes the input, so the answer is the case's "decision"; 3 of 4 labels agree.
CASES = [
    {"id": "c1", "vars": {"input": json.dumps({"decision": "approve"})}, "label": "approve"},
    {"id": "c2", "vars": {"input": json.dumps({"decision": "reject"})}, "label": "reject"},
    {"id": "c3", "vars": {"input": json.dumps({"decision": "approve"})}, "label": "approve"},
    {"id": "c4", "vars": {"input": json.dumps({"decision": "approve"})}, "label": "reject"},
]


def write_workspace(root: Path, stub_url: str) -> None:
    (root / "bind_rules.py").write_text(RULES, encoding="utf-8")
    (root / "cases.jsonl").write_text("\n".join(json.dumps(c) for c in CASES) + "\n", encoding="utf-8")
    config = {
        "andon": 1,
        "name": "bind-test",
        "providers": {
            "stub": {
                "type": "openai",
                "base_url": stub_url,
                "api_key": "sk-stub",
                "model": "stub-model",
                "max_retries": 0,
            }
        },
        "prices": [{"provider": "stub", "model": "*", "input_per_1m": 1000, "output_per_1m": 2000, "currency": "USD"}],
        "features": {
            "menu": {
                "dataset": "cases.jsonl",
                "graders": [{"type": "label", "path": "decision"}],
                "criteria": ["accuracy >= 0.5"],
                "versions": {"v1": {"provider": "stub", "prompt": "{{ input }}", "params": {"json_mode": True}}},
            },
            "rules": {"versions": {"v1": {"python": "bind_rules:decide"}}},
            "idle": {"versions": {"v1": {"python": "bind_rules:decide"}}},
        },
        "gateway": {"auth": False},
    }
    (root / "andon.yaml").write_text(json.dumps(config), encoding="utf-8")


def evaluate_and_promote(ws: Workspace) -> str:
    data = load_dataset(Path("cases.jsonl"), ws.root)

    async def go() -> str:
        try:
            outcome = await run_evaluation(ws, "menu", [ws.version("menu", "v1")], data, repeats=1, concurrency=2)
        finally:
            await ws.aclose_providers()
        return outcome.run_id

    run_id = asyncio.run(go())
    deploy.promote(ws, "menu", "v1", actor="tests")
    return run_id


@dataclass
class Served:
    """A workspace whose traces came through a real gateway, and what was sent to it."""

    root: Path
    database_url: str | None
    run_id: str
    sent_at: datetime

    def open(self) -> Workspace:
        return Workspace.open(self.root, database_url=self.database_url)


def _serve(root: Path, database_url: str | None) -> Served:
    root.mkdir(parents=True, exist_ok=True)
    with StubProcess(echo=True) as stub:
        write_workspace(root, stub.base_url)
        with Workspace.open(root, database_url=database_url) as ws:
            run_id = evaluate_and_promote(ws)
        sent_at = datetime.now(UTC)
        with GatewayServer(root, database_url=database_url) as server, httpx.Client(base_url=server.base_url) as http:
            for decision in DECISIONS:
                body = {"variables": {"input": json.dumps({"decision": decision})}}
                assert http.post("/v1/features/menu/invoke", json=body, timeout=30).status_code == 200
            for fail in RULE_CALLS:
                http.post("/v1/features/rules/invoke", json={"variables": {"fail": fail}}, timeout=30)
            with Workspace.open(root, database_url=database_url) as ws:
                deploy.stop_feature(ws, "rules", reason="tests: the review queue takes the calls")
            for _ in range(STOPPED_CALLS):
                answer = http.post("/v1/features/rules/invoke", json={"variables": {}}, timeout=30)
                assert answer.status_code == 202, answer.text
    return Served(root, database_url, run_id, sent_at)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    root = tmp_path_factory.mktemp(f"served-{request.param}")
    if request.param == "sqlite":
        yield _serve(root, None)
        return
    server: Engine = request.getfixturevalue("postgres_server")
    url = create_postgres_database(server)
    try:
        yield _serve(root, url)
    finally:
        drop_postgres_database(server, url)


@pytest.fixture
def ws(served: Served) -> Iterator[Workspace]:
    with served.open() as opened:
        yield opened


def context(ws: Workspace, binding: dict[str, Any], now: datetime | None = None) -> BindingContext:
    today = datetime.now(UTC).date()
    period = Period(id="test", starts=today - timedelta(days=30), ends=today + timedelta(days=30))
    kr = KeyResult(objective="obj_test", title="t", owner="o", start=0, target=1, binding=binding)
    return BindingContext(ws, kr, period, now or datetime.now(UTC) + timedelta(seconds=1))


def read(ws: Workspace, **spec: Any) -> Reading:
    binding = {"type": "andon_metric", **spec}
    return build_binding(binding).read(context(ws, binding))


def traces(ws: Workspace, feature: str) -> list[dict[str, Any]]:
    return ws.store.list_traces(feature, limit=1000)


def quantile(values: list[float], q: float) -> float:
    """Linear interpolation between the two nearest ranks (as percentile_cont)."""
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def test_label_share_counts_the_answers_the_gateway_gave(ws: Workspace) -> None:
    approve = read(ws, feature="menu", metric="label_share", label="approve", window="7d")
    assert approve.value == pytest.approx(DECISIONS.count("approve") / len(DECISIONS))
    assert approve.snapshot["hits"] == DECISIONS.count("approve") and approve.snapshot["trials"] == len(DECISIONS)
    assert approve.snapshot["path"] == "decision"  # taken from the feature's label grader
    percent = read(ws, feature="menu", metric="label_share", label=["approve", "reject"], scale=100)
    assert percent.value == pytest.approx(100.0)


def test_error_rate_is_the_share_of_asked_calls_that_failed(ws: Workspace) -> None:
    reading = read(ws, feature="rules", metric="error_rate", window="1d")
    assert reading.value == pytest.approx(sum(RULE_CALLS) / len(RULE_CALLS))  # the stopped calls were not asked
    assert reading.snapshot["trials"] == len(RULE_CALLS)


def test_latency_percentiles_and_cost_per_1k_calls_match_the_stored_traces(ws: Workspace) -> None:
    stored = traces(ws, "menu")
    assert len(stored) == len(DECISIONS)
    latencies = [float(t["latency_ms"]) for t in stored]
    # Floats from two sums of the same numbers in another order: equal to rounding.
    assert read(ws, feature="menu", metric="latency_p50_ms").value == pytest.approx(quantile(latencies, 0.5))
    assert read(ws, feature="menu", metric="latency_p95_ms").value == pytest.approx(quantile(latencies, 0.95))
    costs = [float(t["cost"] or 0.0) for t in stored]
    assert sum(costs) > 0
    per_1k = read(ws, feature="menu", metric="cost_per_1k_calls")
    assert per_1k.value == pytest.approx(sum(costs) / len(costs) * 1000)
    assert per_1k.snapshot["calls"] == len(DECISIONS)
    assert read(ws, feature="menu", metric="calls").value == len(DECISIONS)


def test_review_backlog_and_median_wait_come_from_the_queue(ws: Workspace) -> None:
    # The queue holds the stopped feature's calls and the failed ones (the fallback sends those to people).
    waiting = STOPPED_CALLS + sum(RULE_CALLS)
    assert read(ws, feature="rules", metric="review_backlog").value == waiting
    now = datetime.now(UTC) + timedelta(seconds=5)
    binding = {"type": "andon_metric", "feature": "rules", "metric": "review_median_wait_s"}
    wait = build_binding(binding).read(context(ws, binding, now))
    items = ws.store.list_review_items("rules")
    assert len(items) == waiting
    waits = [(now - _aware(i["created_at"])).total_seconds() for i in items]
    assert wait.value == pytest.approx(quantile(waits, 0.5), abs=1e-3)  # a millisecond: SQLite's julianday


def test_the_latest_gate_verdicts_accuracy(ws: Workspace, served: Served) -> None:
    reading = read(ws, feature="menu", metric="gate", gate_metric="accuracy")
    agree = sum(1 for c in CASES if json.loads(c["vars"]["input"])["decision"] == c["label"])
    assert reading.value == pytest.approx(agree / len(CASES))
    assert reading.snapshot["run"] == served.run_id and reading.snapshot["passed"] is True
    assert reading.snapshot["version"] == "v1"
    with pytest.raises(BindingError, match="did not measure 'recall_of_nothing'") as missing:
        read(ws, feature="menu", metric="gate", gate_metric="recall_of_nothing")
    assert "accuracy" in (missing.value.hint or "")
    with pytest.raises(BindingError, match="never evaluated"):
        read(ws, feature="idle", metric="gate", gate_metric="accuracy", version="v1")


def test_no_data_is_an_error_never_a_zero(ws: Workspace) -> None:
    with pytest.raises(BindingError, match="no data for label_share of feature idle"):
        read(ws, feature="idle", metric="label_share", label="approve", path="decision")
    with pytest.raises(BindingError, match="no calls"):
        read(ws, feature="idle", metric="cost_per_1k_calls")
    assert read(ws, feature="idle", metric="calls").value == 0  # a count of nothing is a true zero
    with pytest.raises(BindingError, match=r"'nope' is not in andon\.yaml") as unknown:
        read(ws, feature="nope", metric="calls")
    assert "menu" in (unknown.value.hint or "")
    with pytest.raises(BindingError, match="no label grader"):
        read(ws, feature="rules", metric="label_share", label="approve")


def test_the_window_ends_at_the_periods_end(ws: Workspace, served: Served) -> None:
    binding = {"type": "andon_metric", "feature": "menu", "metric": "calls", "window": "period"}
    ended = Period(id="past", starts=date(2020, 1, 1), ends=served.sent_at.date() - timedelta(days=1))
    kr = KeyResult(objective="obj_test", title="t", owner="o", start=0, target=1, binding=binding)
    reading = build_binding(binding).read(BindingContext(ws, kr, ended, datetime.now(UTC)))
    assert reading.value == 0  # the calls came after the period ended
    assert reading.snapshot["window"]["end"] == f"{served.sent_at.date().isoformat()}T00:00:00+00:00"


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
