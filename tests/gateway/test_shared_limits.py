"""Per-key rate limits shared through Redis (127.0.0.1:6379): two replicas allow a key its rate once, not twice;
with Redis away each process limits on its own and the gateway keeps answering."""

from __future__ import annotations

import logging
import secrets
from pathlib import Path

import httpx
import pytest
from tests.support.gateway_server import GatewayServer, write_workspace

from andon.gateway.auth import create_key
from andon.gateway.shared_limits import RedisRateLimiter
from andon.store import Store

REDIS_URL = "redis://127.0.0.1:6379/0"
pytestmark = pytest.mark.timeout(300)


async def test_two_limiters_on_one_redis_share_each_keys_bucket() -> None:
    first, second = RedisRateLimiter(REDIS_URL), RedisRateLimiter(REDIS_URL)  # as two workers would hold them
    key = f"key_test_{secrets.token_hex(6)}"
    try:
        waits = [await (first if i % 2 else second).take(key, 3) for i in range(6)]
        other = await first.take(f"{key}_other", 3)  # another key has a bucket of its own
    finally:
        await first.aclose()
        await second.aclose()
    assert [w == 0.0 for w in waits] == [True] * 3 + [False] * 3  # a token every 20 s: none refills meanwhile
    assert all(0 < w <= 20.0 + 1e-6 for w in waits[3:])
    assert other == 0.0


async def test_with_redis_away_each_process_limits_on_its_own(caplog: pytest.LogCaptureFixture) -> None:
    limiter = RedisRateLimiter("redis://127.0.0.1:9/0", timeout_s=0.2)  # the discard port: nothing listens
    try:
        with caplog.at_level(logging.WARNING, logger="andon.gateway"):
            waits = [await limiter.take("key_away", 3) for _ in range(5)]
    finally:
        await limiter.aclose()
    assert [w == 0.0 for w in waits] == [True, True, True, False, False]
    warnings = [r for r in caplog.records if "not answering" in r.getMessage()]
    assert len(warnings) == 1 and "127.0.0.1:9" in warnings[0].getMessage()  # once, not once per call


def test_two_gateway_replicas_allow_a_key_its_rate_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'andon.db'}"
    with Store.open(url) as store:
        _record, secret = create_key(store, "shared", ["invoke"], 2)  # a token every 30 s
    ws = write_workspace(tmp_path / "ws", gateway={"rate_limit_redis": REDIS_URL})
    headers = {"authorization": f"Bearer {secret}"}
    with GatewayServer(ws, database_url=url) as one, GatewayServer(ws, database_url=url, promote=False) as two:
        statuses = []
        for i in range(6):
            server = one if i % 2 else two
            response = httpx.post(f"{server.base_url}/v1/features/echo/invoke", json={}, headers=headers, timeout=30)
            statuses.append(response.status_code)
    assert statuses == [200] * 2 + [429] * 4  # per replica, each would have allowed 2 of its own
