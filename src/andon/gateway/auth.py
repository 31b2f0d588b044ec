"""API keys: secrets shown once and kept as sha256, scopes (invoke, review, metrics, alerts, okr, admin), a rate limit.

A secret looks like ``andon_sk_`` + 43 URL-safe characters (32 random bytes). ``admin`` includes every scope;
``metrics`` lets a Prometheus scraper read ``/metrics`` and nothing else.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import secrets
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from andon.config.live_judge import LIVE_ERROR_TAG, LIVE_TAG
from andon.errors import ConfigError
from andon.gateway.http_errors import ApiError
from andon.gateway.keycache import KeyCache
from andon.gateway.types import Caller
from andon.messages import t
from andon.store import Store
from andon.store.keys import ApiKeyRecord
from andon.store.records import new_id

KEY_PREFIX = "andon_sk_"
# alerts: POST /v1/alerts/alertmanager only; okr: the /v1/okr/ routes (check-ins and the board).
SCOPES = ("invoke", "review", "metrics", "alerts", "okr", "privacy", "admin")
_SHOWN_PREFIX = len(KEY_PREFIX) + 6  # enough to tell keys apart in a list, far too little to guess the rest


def new_secret() -> str:
    """A fresh secret: the prefix and 32 random bytes, URL-safe base64."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    """The sha256 (hex) kept in the store instead of the secret."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def check_scopes(scopes: Iterable[str]) -> list[str]:
    """Scopes in canonical order, or a ConfigError naming an unknown one."""
    given = list(dict.fromkeys(scopes))
    unknown = [s for s in given if s not in SCOPES]
    if unknown:
        raise ConfigError(
            t("house3.auth.unknown_scope", scopes=", ".join(unknown)),
            where="--scope",
            hint=t("house3.auth.use_scopes", scopes=", ".join(SCOPES)),
        )
    if not given:
        raise ConfigError(t("house3.auth.no_scope"), where="--scope", hint=t("house3.auth.no_scope_hint"))
    return [s for s in SCOPES if s in given]


def create_key(
    store: Store, name: str, scopes: Iterable[str], rate_limit_per_min: int | None
) -> tuple[ApiKeyRecord, str]:
    """Store a new key and return it with its secret, which is never stored and cannot be shown again."""
    if not name.strip():
        raise ConfigError(t("house3.auth.no_name"), where="NAME", hint=t("house3.auth.no_name_hint"))
    if rate_limit_per_min is not None and rate_limit_per_min < 1:
        raise ConfigError(t("house3.auth.rate"), where="--rate")
    canonical = check_scopes(scopes)
    secret = new_secret()
    record = store.add_api_key(
        key_id=new_id("key"),
        name=name.strip(),
        prefix=secret[:_SHOWN_PREFIX],
        secret_hash=hash_secret(secret),
        scopes=canonical,
        rate_limit_per_min=rate_limit_per_min,
    )
    return record, secret


def allows(scopes: Iterable[str], needed: str) -> bool:
    """Whether ``scopes`` grant ``needed`` (``admin`` grants everything)."""
    granted = set(scopes)
    return needed in granted or "admin" in granted


class RateLimiter:
    """Token buckets per key: ``per_minute`` tokens, refilled continuously; a full bucket allows a burst.

    Kept per process: with N workers a key may get up to N times its rate, unless ``gateway.rate_limit_redis``
    shares the buckets (``RedisRateLimiter``).
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill time)
        self._lock = threading.Lock()

    def acquire(self, key: str, per_minute: int) -> float:
        """Take one token: 0.0 if allowed, else the seconds until one is available."""
        now = self._clock()
        capacity = float(per_minute)
        rate = per_minute / 60.0
        with self._lock:
            tokens, last = self._buckets.get(key, (capacity, now))
            tokens = min(capacity, tokens + max(0.0, now - last) * rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / rate

    async def take(self, key: str, per_minute: int) -> float:
        """``acquire`` for the gateway's event loop (a shared limiter asks Redis here)."""
        return self.acquire(key, per_minute)

    async def aclose(self) -> None:
        """Nothing to close in memory."""


@dataclass(frozen=True, slots=True)
class Identity:
    """Who is calling: the key (None in dev mode without auth) and what it may do."""

    key_id: str | None
    name: str
    scopes: frozenset[str]

    @property
    def actor(self) -> str:
        """How decisions by this caller are recorded."""
        return f"key:{self.name}" if self.key_id else "anonymous"

    def caller(
        self,
        *,
        user_id: str | None = None,
        session_id: str | None = None,
        tenant: str | None = None,
        tags: dict[str, Any] | None = None,
    ) -> Caller:
        """The gateway's view of this caller, with the ids the request sent (a 400 for andon's own tag)."""
        # The live judge's scores feed monitors: a caller must not forge them.
        reserved = [key for key in (LIVE_TAG, LIVE_ERROR_TAG) if tags and key in tags]
        if reserved:
            raise ApiError("invalid_request", t("live_judge.tags_reserved", key=reserved[0]))
        return Caller(
            api_key_id=self.key_id,
            scopes=self.scopes,
            user_id=user_id,
            session_id=session_id,
            tenant=tenant,
            tags=dict(tags or {}),
        )


DEV_IDENTITY = Identity(key_id=None, name="anonymous", scopes=frozenset(SCOPES))


class Authenticator:
    """Turns a bearer secret into an :class:`Identity`, refusing unknown, revoked and rate-limited keys."""

    def __init__(
        self,
        store: Store,
        *,
        enabled: bool,
        limiter: RateLimiter | None = None,
        cache: KeyCache | None = None,
    ) -> None:
        self.store = store
        self.enabled = enabled
        self.limiter = limiter or RateLimiter()
        self.cache = cache or KeyCache(ttl_s=0)

    async def _record(self, secret_hash: str) -> ApiKeyRecord | None:
        """The key of ``secret_hash``: from memory while fresh, else from the store (off the event loop)."""
        record = self.cache.get(secret_hash)
        if record is None:
            record = await asyncio.to_thread(self.store.api_key_by_hash, secret_hash)
            if record is not None:
                self.cache.put(secret_hash, record)
        return record

    async def authenticate(self, secret: str | None) -> Identity:
        """The identity of ``secret``; with auth off, everyone is the anonymous admin."""
        if not self.enabled:
            return DEV_IDENTITY
        if not secret:
            raise ApiError(
                "unauthorized",
                t("house3.auth.required"),
                hint=t("house3.auth.required_hint"),
                headers={"www-authenticate": "Bearer"},
            )
        record = await self._record(hash_secret(secret))
        if record is None or not record.active:
            raise ApiError(
                "unauthorized",
                t("house3.auth.revoked") if record is not None else t("house3.auth.unknown_key"),
                hint=t("house3.auth.check_key"),
                headers={"www-authenticate": "Bearer"},
            )
        if record.rate_limit_per_min is not None:
            wait = await self.limiter.take(record.id, record.rate_limit_per_min)
            if wait > 0:
                retry_after = max(1, math.ceil(wait))
                raise ApiError(
                    "rate_limited",
                    t("house3.auth.limited", name=record.name, limit=record.rate_limit_per_min),
                    hint=t("house3.auth.retry", seconds=retry_after),
                    headers={"retry-after": str(retry_after)},
                    extra={"retry_after": round(wait, 3)},
                )
        return Identity(key_id=record.id, name=record.name, scopes=frozenset(record.scopes))


_bearer = HTTPBearer(auto_error=False, description="An API key from `andon keys create` (andon_sk_…).")


def require(scope: str) -> Callable[..., Awaitable[Identity]]:
    """A FastAPI dependency: the caller's identity, if its key grants ``scope``."""
    if scope not in SCOPES:
        raise ValueError(f"unknown scope {scope!r}")

    async def dependency(
        request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
    ) -> Identity:
        authenticator: Authenticator = request.app.state.authenticator
        identity = await authenticator.authenticate(credentials.credentials if credentials else None)
        request.scope.setdefault("state", {})["api_key_id"] = identity.key_id
        if not allows(identity.scopes, scope):
            raise ApiError(
                "forbidden",
                t("house3.auth.lacks", scope=scope, scopes=", ".join(sorted(identity.scopes))),
                hint=t("house3.auth.lacks_hint", scope=scope),
            )
        return identity

    return dependency
