"""The gateway's cache of verified API keys: fresh entries skip the store, revocation wins once they expire."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from andon.gateway.auth import Authenticator, create_key
from andon.gateway.http_errors import ApiError
from andon.gateway.keycache import KeyCache
from andon.store import Store
from andon.store.keys import ApiKeyRecord


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def record(key_id: str, *, revoked: bool = False) -> ApiKeyRecord:
    return ApiKeyRecord(
        id=key_id,
        name=key_id,
        prefix="andon_sk_abcdef",
        secret_hash="h-" + key_id,
        scopes=("invoke",),
        rate_limit_per_min=None,
        created_at=datetime(2026, 12, 1, tzinfo=UTC),
        revoked_at=datetime(2026, 12, 2, tzinfo=UTC) if revoked else None,
    )


def test_an_entry_is_served_until_its_ttl_then_dropped() -> None:
    clock = Clock()
    cache = KeyCache(ttl_s=2.0, clock=clock)
    cache.put("h1", record("key_1"))
    clock.now += 1.99
    assert cache.get("h1") == record("key_1")
    clock.now += 0.02
    assert cache.get("h1") is None


def test_revoked_keys_are_never_kept_and_ttl_zero_keeps_nothing() -> None:
    cache = KeyCache(ttl_s=5.0, clock=Clock())
    cache.put("h1", record("key_1", revoked=True))
    assert cache.get("h1") is None
    off = KeyCache(ttl_s=0, clock=Clock())
    off.put("h2", record("key_2"))
    assert not off.enabled and off.get("h2") is None


def test_forget_drops_one_key_or_all() -> None:
    cache = KeyCache(ttl_s=5.0, clock=Clock())
    cache.put("a", record("key_a"))
    cache.put("a2", record("key_a"))
    cache.put("b", record("key_b"))
    cache.forget("key_a")
    assert cache.get("a") is None and cache.get("a2") is None and cache.get("b") is not None
    cache.forget()
    assert cache.get("b") is None


@given(st.lists(st.integers(min_value=0, max_value=30), max_size=200), st.integers(min_value=1, max_value=8))
def test_the_cache_never_holds_more_than_its_capacity_and_keeps_the_latest(keys: list[int], capacity: int) -> None:
    cache = KeyCache(ttl_s=60.0, capacity=capacity, clock=Clock())
    for k in keys:
        cache.put(f"h{k}", record(f"key_{k}"))
    held = [k for k in range(31) if cache.get(f"h{k}") is not None]
    assert len(held) <= capacity
    if keys:
        assert keys[-1] in held


def test_authenticator_trusts_a_fresh_key_and_refuses_it_after_revocation_once_expired(tmp_path: Path) -> None:
    clock = Clock()
    with Store.open(f"sqlite:///{tmp_path / 'andon.db'}") as store:
        key, secret = create_key(store, "ci", ["invoke"], None)
        auth = Authenticator(store, enabled=True, cache=KeyCache(ttl_s=2.0, clock=clock))
        assert asyncio.run(auth.authenticate(secret)).key_id == key.id
        store.revoke_api_key(key.id)
        # Still within the TTL: the cached verification is used, the store is not read.
        assert asyncio.run(auth.authenticate(secret)).key_id == key.id
        clock.now += 2.5
        with pytest.raises(ApiError) as refused:
            asyncio.run(auth.authenticate(secret))
        assert refused.value.code == "unauthorized"
        # A revocation in this process takes effect at once.
        other, other_secret = create_key(store, "web", ["invoke"], None)
        asyncio.run(auth.authenticate(other_secret))
        store.revoke_api_key(other.id)
        auth.cache.forget(other.id)
        with pytest.raises(ApiError):
            asyncio.run(auth.authenticate(other_secret))
