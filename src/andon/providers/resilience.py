"""Concurrency limit, per-attempt timeout and retries with jittered backoff around any provider."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable

from andon.config.schema import ProviderConfig
from andon.errors import ProviderError, ProviderTimeout
from andon.messages import t
from andon.providers.base import Provider, ProviderRequest, ProviderResponse

RETRY_AFTER_CAP_S = 120.0  # a server asking for a longer pause is better reported than waited on


def backoff_delay(attempt: int, config: ProviderConfig, retry_after: float | None, rng: Callable[[], float]) -> float:
    """Seconds to wait after failed ``attempt`` (1-based): full jitter, at least a capped Retry-After."""
    ceiling = min(config.backoff_max_s, config.backoff_base_s * 2.0 ** (attempt - 1))
    delay = rng() * ceiling
    if retry_after is not None:
        delay = max(delay, min(retry_after, RETRY_AFTER_CAP_S))
    return delay


class ResilientProvider:
    """Wraps a provider: at most ``concurrency`` calls at once, at most ``rate_per_s`` started per second,
    retries of retryable errors.

    ``sleep``, ``rng`` and ``clock`` are injectable so tests record waits instead of timing them.
    """

    def __init__(
        self,
        inner: Provider,
        config: ProviderConfig,
        *,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
        rng: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.inner = inner
        self.name = inner.name
        self.config = config
        self._sleep = sleep
        self._rng = rng
        self._slots = asyncio.Semaphore(config.concurrency)
        self._clock = clock
        self._next_start = 0.0  # when the next call may start under rate_per_s

    async def _pace(self) -> None:
        """Space call starts evenly so a provider's requests-per-second quota is never exceeded (retries too)."""
        if self.config.rate_per_s is None:
            return
        now = self._clock()
        start = max(self._next_start, now)
        self._next_start = start + 1.0 / self.config.rate_per_s
        if start > now:
            await self._sleep(start - now)

    async def _attempt(self, request: ProviderRequest) -> ProviderResponse:
        await self._pace()
        async with self._slots:
            try:
                # A safety net: the inner provider's own timeout should fire first, but a hung
                # thread or a slow-dripping server must not hold a slot for ever.
                async with asyncio.timeout(self.config.timeout_s):
                    return await self.inner.complete(request)
            except TimeoutError:
                raise ProviderTimeout(
                    t("house2.provider.timeout", timeout=self.config.timeout_s),
                    provider=self.name,
                    retryable=True,
                    hint=t("house2.provider.timeout_hint", provider=self.name),
                ) from None

    async def complete(self, request: ProviderRequest) -> ProviderResponse:
        """Answer ``request``, retrying retryable failures; ``attempts`` on the response counts tries."""
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._attempt(request)
            except ProviderError as error:
                if not error.retryable or attempt > self.config.max_retries:
                    if attempt > 1:
                        error.message = f"{error.message} (gave up after {attempt} attempts)"
                        error.args = (error.message,)
                    error.add_note(f"attempts: {attempt}")
                    raise
                # Wait outside the semaphore so a backing-off call does not block others.
                await self._sleep(backoff_delay(attempt, self.config, error.retry_after, self._rng))
                continue
            response.attempts = attempt
            return response

    async def aclose(self) -> None:
        """Close the wrapped provider."""
        await self.inner.aclose()
