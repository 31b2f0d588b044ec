"""Per-key rate limits shared by every worker and replica: one token bucket per key in Redis.

A Lua script refills and takes a token atomically on the server, on the server's clock, so N workers (or N
replicas behind nginx) together allow a key its rate once, not N times. When Redis cannot be reached the
gateway keeps answering and limits per process (as without Redis) and logs it: a rate limit must not take
the gateway down with it.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from andon.gateway.auth import RateLimiter
from andon.providers.endpoint import masked_url

log = logging.getLogger("andon.gateway")

# KEYS[1] the bucket; ARGV: capacity (tokens), rate (tokens per second). Returns the wait in seconds as text
# (Lua numbers come back from Redis as integers otherwise).
_TAKE = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - at) * rate)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = (1 - tokens) / rate end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate * 1000) + 1000)
return tostring(wait)
"""
_WARN_EVERY_S = 60.0


class RedisRateLimiter(RateLimiter):
    """Token buckets in Redis at ``url`` (keys ``{prefix}{key id}``); per process while Redis is away."""

    def __init__(self, url: str, *, prefix: str = "andon:ratelimit:", timeout_s: float = 0.5) -> None:
        super().__init__()
        from redis.asyncio import Redis  # the `redis` extra: imported only when shared limits are configured

        self.url = url
        self.prefix = prefix
        self._client: Any = Redis.from_url(url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s)
        self._script: Any = self._client.register_script(_TAKE)
        self._warned_at = float("-inf")

    async def take(self, key: str, per_minute: int) -> float:
        """Take one token from the shared bucket: 0.0 if allowed, else the seconds until one is available."""
        from redis.exceptions import RedisError

        try:
            wait = await self._script(keys=[self.prefix + key], args=[per_minute, per_minute / 60.0])
        except (RedisError, OSError) as exc:
            self._warn(exc)
            return self.acquire(key, per_minute)
        return float(wait)

    def _warn(self, exc: BaseException) -> None:
        now = time.monotonic()
        if now - self._warned_at >= _WARN_EVERY_S:
            self._warned_at = now
            log.warning("rate limits: Redis at %s is not answering (%s); limiting per process until it is back",
                        masked_url(self.url), type(exc).__name__)  # fmt: skip

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()
