"""POST /v1/metrics: batches of {monitor | metric, ts, value} stored for pushed monitors; keys and bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from tests.watch import watch_support

from andon.gateway.app import create_app
from andon.gateway.auth import create_key

# Fixtures shared by the watch tests (pytest finds them by these names).
open_ws = watch_support.open_ws

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
MONITORS = {
    "orders": {
        "feature": "menu",
        "metric": "orders",
        "source": {"type": "pushed", "name": "orders_total"},
        "detector": {"type": "threshold", "fail_below": 1},
    },
    "rejects": {"feature": "menu", "metric": "error_rate", "detector": {"type": "threshold", "fail_above": 0.5}},
}


@pytest.fixture
def client(open_ws: Any) -> Any:
    ws = open_ws(MONITORS)
    app = create_app(ws)
    keys = {scope: create_key(ws.store, scope, [scope], None)[1] for scope in ("invoke", "review", "admin")}
    return ws, httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw"), keys


def auth(secret: str) -> dict[str, str]:
    return {"authorization": f"Bearer {secret}"}


async def test_a_batch_is_stored_for_monitors_and_metric_names(client: Any) -> None:
    ws, http, keys = client
    points = [
        {"monitor": "orders", "ts": (T0 + timedelta(seconds=10)).isoformat(), "value": 12},
        {"monitor": "orders", "ts": (T0 + timedelta(seconds=20)).timestamp(), "value": 8.5},
        {"metric": "orders_total", "ts": "2026-12-01T09:00:30", "value": 4},  # naive: UTC
    ]
    async with http:
        answer = await http.post("/v1/metrics", json={"points": points}, headers=auth(keys["invoke"]))
        bare = await http.post("/v1/metrics", json=[{"metric": "other", "value": 1.0}], headers=auth(keys["admin"]))
    assert answer.status_code == 202 and answer.json() == {"accepted": 3}
    assert bare.status_code == 202 and bare.json() == {"accepted": 1}
    assert ws.store.metric_aggregate("orders_total", T0, T0 + timedelta(minutes=1), "sum") == (24.5, 3)
    assert ws.store.metric_aggregate("orders_total", T0, T0 + timedelta(minutes=1), "last") == (4.0, 3)
    span = ws.store.metric_span("other")
    assert span is not None and abs((span[0] - datetime.now(UTC)).total_seconds()) < 600  # no ts: now


@pytest.mark.parametrize(
    ("points", "status", "code", "text"),
    [
        ([{"monitor": "nope", "value": 1}], 404, "not_found", "no monitor 'nope'"),
        ([{"monitor": "rejects", "value": 1}], 400, "invalid_request", "reads from traces"),
        ([{"value": 1}], 400, "invalid_request", "exactly one of"),
        ([{"monitor": "orders", "metric": "x", "value": 1}], 400, "invalid_request", "exactly one of"),
        ([{"monitor": "orders", "value": "high"}], 400, "invalid_request", ""),
        ([{"monitor": "orders", "value": 1, "extra": 1}], 400, "invalid_request", ""),
        ([{"monitor": "orders", "value": 1, "ts": "yesterday"}], 400, "invalid_request", ""),
        ([], 400, "invalid_request", ""),
    ],
)
async def test_bad_points_are_refused_and_nothing_is_stored(
    client: Any, points: list[Any], status: int, code: str, text: str
) -> None:
    ws, http, keys = client
    batch = [{"monitor": "orders", "ts": T0.isoformat(), "value": 5}, *points]
    async with http:
        answer = await http.post("/v1/metrics", json={"points": batch if points else []}, headers=auth(keys["invoke"]))
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["code"] == code and text in answer.text
    assert ws.store.metric_span("orders_total") is None  # all or none


async def test_infinite_values_are_refused(client: Any) -> None:
    ws, http, keys = client
    body = '{"points": [{"monitor": "orders", "value": 1e400}]}'
    async with http:
        answer = await http.post(
            "/v1/metrics", content=body, headers=auth(keys["invoke"]) | {"content-type": "application/json"}
        )
    assert answer.status_code == 400
    assert ws.store.metric_span("orders_total") is None


async def test_pushing_needs_an_invoke_or_admin_key(client: Any) -> None:
    _, http, keys = client
    body = {"points": [{"monitor": "orders", "value": 1}]}
    async with http:
        anonymous = await http.post("/v1/metrics", json=body)
        reviewer = await http.post("/v1/metrics", json=body, headers=auth(keys["review"]))
    assert anonymous.status_code == 401
    assert reviewer.status_code == 403 and "invoke" in reviewer.text
