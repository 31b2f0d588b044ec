"""A circuit breaker per provider: after repeated failures, fail fast until a trial call succeeds.

closed → (``failures`` consecutive failures) → open → (``reset_s`` later, one trial call) → half-open →
closed on success, open again on failure. While open, calls are refused at once so a dead provider costs
no time and the feature's fallback is taken immediately.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from andon.errors import ProviderError
from andon.gateway.metrics import GatewayMetrics
from andon.providers.base import Provider, ProviderRequest, ProviderResponse

if TYPE_CHECKING:
    from andon.workspace import Workspace

State = Literal["closed", "open", "half_open"]


class CircuitOpenError(ProviderError):
    """The provider's circuit is open: the call was refused without reaching the provider."""


def counts_as_failure(error: ProviderError) -> bool:
    """Whether an error says the provider is unhealthy (not merely that this one request was bad).

    Timeouts, connection failures, 429 and 5xx are retryable, so they count; so do 401/403, which fail
    every call alike. A 400 or a schema mismatch is about the request, and a Python rule's exception is
    about its input: those do not open the circuit.
    """
    return error.retryable or error.status in (401, 403)


class CircuitBreaker:
    """The breaker of one provider. ``clock`` is injectable so tests step time instead of sleeping."""

    def __init__(self, failures: int, reset_s: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if failures < 1:
            raise ValueError("failures must be at least 1")
        self.failures = failures
        self.reset_s = reset_s
        self._clock = clock
        self._state: State = "closed"
        self._consecutive = 0
        self._opened_at = 0.0
        self._trial_out = False

    @property
    def state(self) -> State:
        """The current state; an open circuit whose wait is over reports half-open."""
        if self._state == "open" and self._clock() >= self._opened_at + self.reset_s:
            return "half_open"
        return self._state

    def allow(self) -> bool:
        """Whether a call may go out now; in half-open only one trial call at a time."""
        state = self.state
        if state == "closed":
            return True
        if state == "open":
            return False
        if self._trial_out:
            return False
        self._state, self._trial_out = "half_open", True
        return True

    def retry_in(self) -> float:
        """Seconds until an open circuit lets a trial call through (0 when not open)."""
        if self._state != "open":
            return 0.0
        return max(0.0, self._opened_at + self.reset_s - self._clock())

    def record_success(self) -> None:
        """The provider answered: close the circuit."""
        self._state, self._consecutive, self._trial_out = "closed", 0, False

    def record_failure(self) -> None:
        """The provider failed: count it, and open the circuit at the limit or when a trial fails."""
        self._consecutive += 1
        if self._state == "half_open" or self._consecutive >= self.failures:
            self._state, self._opened_at = "open", self._clock()
        self._trial_out = False

    def release(self) -> None:
        """A call ended with no verdict (cancelled): free the trial slot without changing state."""
        if self._state == "half_open":
            self._trial_out = False


class Circuits:
    """One breaker per provider name, created on first use with the gateway's settings."""

    def __init__(self, failures: int, reset_s: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.failures = failures
        self.reset_s = reset_s
        self._clock = clock
        self._breakers: dict[str, CircuitBreaker] = {}

    def get(self, provider: str) -> CircuitBreaker:
        """The breaker of ``provider``."""
        breaker = self._breakers.get(provider)
        if breaker is None:
            breaker = self._breakers[provider] = CircuitBreaker(self.failures, self.reset_s, clock=self._clock)
        return breaker

    def states(self) -> dict[str, State]:
        """Every known provider's state (for /readyz and metrics)."""
        return {name: breaker.state for name, breaker in self._breakers.items()}


# --- provider calls behind circuit breakers ------------------------------------------------------


@dataclass(slots=True)
class CallLog:
    """What the providers of the current call reported: the last failure, if any."""

    fault: ProviderError | None = None


CALL_LOG: ContextVar[CallLog | None] = ContextVar("andon_gateway_call", default=None)


class GuardedProvider:
    """A provider behind its circuit breaker (outside the retries, so one verdict per logical call)."""

    def __init__(self, inner: Provider, breaker: CircuitBreaker, metrics: GatewayMetrics) -> None:
        self.name = inner.name
        self._inner = inner
        self._breaker = breaker
        self._metrics = metrics

    async def complete(self, request: ProviderRequest) -> ProviderResponse:
        """Refuse at once while the circuit is open; otherwise call and record the verdict."""
        call = CALL_LOG.get()
        if not self._breaker.allow():
            error = CircuitOpenError(
                f"circuit open after repeated failures; next trial call in {self._breaker.retry_in():.0f} s",
                provider=self.name,
                hint="the provider kept failing; the feature's fallback is used until it recovers",
            )
            if call is not None:
                call.fault = error
            raise error
        try:
            response = await self._inner.complete(request)
        except ProviderError as error:
            if counts_as_failure(error):
                self._breaker.record_failure()
            else:
                self._breaker.record_success()  # it answered; the request itself was the problem
            self._metrics.set_circuit(self.name, self._breaker.state == "open")
            if call is not None:
                call.fault = error
            raise
        except BaseException:
            self._breaker.release()
            raise
        self._breaker.record_success()
        self._metrics.set_circuit(self.name, False)
        return response

    async def aclose(self) -> None:
        """Nothing to close: the workspace owns the wrapped provider."""


class GuardedProviders:
    """The workspace's providers, each behind its breaker; what ``run_version`` calls through."""

    def __init__(self, ws: Workspace, circuits: Circuits, metrics: GatewayMetrics) -> None:
        self._ws = ws
        self._circuits = circuits
        self._metrics = metrics
        self._guarded: dict[str, GuardedProvider] = {}

    def provider(self, name: str) -> Provider:
        """The guarded provider called ``name``."""
        guarded = self._guarded.get(name)
        if guarded is None:
            guarded = GuardedProvider(self._ws.provider(name), self._circuits.get(name), self._metrics)
            self._guarded[name] = guarded
        return guarded

    def price(self, provider: str, model: str, input_tokens: int, output_tokens: int) -> tuple[float, str] | None:
        """Cost from the workspace's price table."""
        return self._ws.price(provider, model, input_tokens, output_tokens)
