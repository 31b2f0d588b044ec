"""The circuit breaker's state machine, stepped with a hand-moved clock (no sleeping)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from andon.errors import ProviderError, ProviderTimeout
from andon.gateway.circuit import CircuitBreaker, Circuits, counts_as_failure


def state(breaker: CircuitBreaker) -> str:
    """The state as a plain string (so checks after state changes are not narrowed away by mypy)."""
    return breaker.state


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_opens_after_consecutive_failures_and_fails_fast() -> None:
    clock = Clock()
    breaker = CircuitBreaker(3, 30.0, clock=clock)
    for _ in range(2):
        assert breaker.allow()
        breaker.record_failure()
    assert state(breaker) == "closed"
    assert breaker.allow()
    breaker.record_failure()
    assert state(breaker) == "open"
    assert not breaker.allow()
    assert breaker.retry_in() == pytest.approx(30.0)
    clock.now += 29.9
    assert not breaker.allow()


def test_a_success_resets_the_count() -> None:
    breaker = CircuitBreaker(2, 30.0, clock=Clock())
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert state(breaker) == "closed"


def test_half_open_lets_one_trial_through_and_closes_on_success() -> None:
    clock = Clock()
    breaker = CircuitBreaker(1, 10.0, clock=clock)
    breaker.record_failure()
    clock.now += 10.0
    assert state(breaker) == "half_open"
    assert breaker.allow()  # the trial
    assert not breaker.allow()  # only one at a time
    breaker.record_success()
    assert state(breaker) == "closed"
    assert breaker.allow()


def test_a_failed_trial_opens_again_for_a_full_wait() -> None:
    clock = Clock()
    breaker = CircuitBreaker(5, 10.0, clock=clock)
    for _ in range(5):
        breaker.record_failure()
    clock.now += 10.0
    assert breaker.allow()
    breaker.record_failure()  # one failure suffices in half-open
    assert state(breaker) == "open"
    clock.now += 9.0
    assert not breaker.allow()
    clock.now += 1.0
    assert breaker.allow()


def test_a_cancelled_trial_frees_the_slot() -> None:
    clock = Clock()
    breaker = CircuitBreaker(1, 1.0, clock=clock)
    breaker.record_failure()
    clock.now += 1.0
    assert breaker.allow()
    breaker.release()
    assert breaker.allow()


def test_only_provider_health_failures_count() -> None:
    assert counts_as_failure(ProviderTimeout("slow", retryable=True))
    assert counts_as_failure(ProviderError("HTTP 503", status=503, retryable=True))
    assert counts_as_failure(ProviderError("HTTP 429", status=429, retryable=True))
    assert counts_as_failure(ProviderError("HTTP 401", status=401))
    assert not counts_as_failure(ProviderError("HTTP 400", status=400))
    assert not counts_as_failure(ProviderError("ValueError: bad input"))


def test_circuits_are_per_provider() -> None:
    circuits = Circuits(1, 5.0, clock=Clock())
    circuits.get("a").record_failure()
    assert state(circuits.get("a")) == "open"
    assert state(circuits.get("b")) == "closed"
    assert circuits.states() == {"a": "open", "b": "closed"}


@given(st.lists(st.sampled_from(["ok", "fail", "tick"]), max_size=60), st.integers(1, 5))
def test_never_open_without_enough_failures(events: list[str], limit: int) -> None:
    """Property: the circuit is open only if the last `limit` verdicts before it opened were failures."""
    clock = Clock()
    breaker = CircuitBreaker(limit, 10.0, clock=clock)
    streak = 0
    for event in events:
        if event == "tick":
            clock.now += 4.0
            continue
        if not breaker.allow():
            assert state(breaker) == "open"
            continue
        was_trial = state(breaker) == "half_open"
        if event == "ok":
            breaker.record_success()
            streak = 0
        else:
            breaker.record_failure()
            streak += 1
            if breaker.state == "open":
                assert was_trial or streak >= limit
        if event == "ok":
            assert state(breaker) == "closed"
