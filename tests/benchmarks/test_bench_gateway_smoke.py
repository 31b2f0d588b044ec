"""The gateway bench's own parts: its load generator against the real stub, its percentiles, and what "held" means."""

from __future__ import annotations

import math

import pytest
from bench.gateway import _generate, _percentile, chat_body, held
from bench.stub import Scripted, StubServer
from hypothesis import given
from hypothesis import strategies as st


@pytest.mark.parametrize("client", ["raw", "httpx"])
async def test_generator_counts_answers_and_errors_against_the_stub(client: str) -> None:
    async with StubServer() as stub:
        stub.program(*[Scripted(status=500)] * 3)
        spec = {"url": f"{stub.base_url}/chat/completions", "headers": {}, "body": chat_body(), "client": client}
        closed = await _generate({**spec, "mode": "closed", "concurrency": 2, "requests": 20, "max_seconds": 30})
        assert (closed["ok"], closed["errors"]) == (17, 3) and closed["statuses"] == {"200": 17, "500": 3}
        assert closed["first_error"].startswith("HTTP 500")
        opened = await _generate({**spec, "mode": "open", "rate": 40, "seconds": 0.5, "warmup": 4})
        assert (opened["warmup_ok"], opened["ok"], opened["errors"], opened["offered_rate"]) == (4, 20, 0, 40)
        assert stub.stats()["requests"] == 20 + 4 + 20
        assert stub.received[-1].body["messages"][0]["content"] == chat_body()["messages"][0]["content"]


async def test_raw_client_reads_chunked_answers_and_closed_connections() -> None:
    async with StubServer() as stub:
        stub.program(Scripted(headers={"Connection": "close"}), Scripted(status=429))
        spec = {"url": f"{stub.base_url}/chat/completions", "headers": {}, "body": {**chat_body(), "stream": True}}
        result = await _generate({**spec, "mode": "closed", "concurrency": 1, "requests": 6, "max_seconds": 30})
        assert result["statuses"] == {"200": 5, "429": 1}
        assert stub.stats()["requests"] == 6 and stub.received[-1].body["stream"] is True


@pytest.mark.parametrize("client", ["raw", "httpx"])
async def test_generator_reports_a_dead_target_as_errors(client: str) -> None:
    async with StubServer() as stub:
        url = f"{stub.base_url}/chat/completions"
    result = await _generate({"url": url, "headers": {}, "body": {}, "mode": "closed", "concurrency": 1,
                              "requests": 3, "max_seconds": 30, "timeout_s": 2, "client": client})  # fmt: skip
    assert result["ok"] == 0 and result["errors"] == 3 and result["statuses"] == {"0": 3}
    assert math.isnan(result["p50_ms"])


def step(**changes: float) -> dict[str, float]:
    base = {"errors": 0, "offered_rate": 100.0, "achieved_rate": 99.0, "p99_ms": 40.0, "send_lag_p99_ms": 2.0}
    return {**base, **changes}


def test_held_needs_no_errors_pace_bounded_p99_and_a_punctual_generator() -> None:
    assert held(step())
    assert not held(step(errors=1))
    assert not held(step(achieved_rate=90.0))
    assert not held(step(p99_ms=1500.0))
    assert not held(step(send_lag_p99_ms=80.0))


@given(st.lists(st.floats(0, 1e6), min_size=1, max_size=200), st.floats(0, 1), st.floats(0, 1))
def test_percentile_is_monotone_and_within_the_data(values: list[float], q1: float, q2: float) -> None:
    ordered = sorted(values)
    low, high = sorted((q1, q2))
    assert ordered[0] <= _percentile(ordered, low) <= _percentile(ordered, high) <= ordered[-1]
    assert _percentile(ordered, 0.0) == ordered[0] and _percentile(ordered, 1.0) == ordered[-1]
