"""Retries, backoff, timeouts and the concurrency limit around real providers and the loopback stub;
and the provider registry."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from andon.config.schema import ProviderConfig
from andon.errors import AndonError, ConfigError, ProviderError, ProviderTimeout
from andon.providers.base import Message, Provider, ProviderRequest, TextPart
from andon.providers.openai import OpenAIProvider
from andon.providers.python import PythonProvider
from andon.providers.registry import build_provider, known_types, provider_class
from andon.providers.resilience import RETRY_AFTER_CAP_S, ResilientProvider, backoff_delay

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from bench.stub import Scripted, StubServer

REQUEST = ProviderRequest(model="m", messages=(Message("user", (TextPart("hi"),)),))


@pytest.fixture
async def stub() -> AsyncIterator[StubServer]:
    async with StubServer() as server:
        yield server


class Waits:
    """An injected sleep that records what it was asked to wait, and returns at once."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.seconds.append(delay)


def config(stub: StubServer, **extra: object) -> ProviderConfig:
    settings: dict[str, object] = {"type": "openai", "base_url": stub.base_url, "api_key": SecretStr("sk-x")}
    settings.update(extra)
    return ProviderConfig.model_validate(settings)


def wrap(cfg: ProviderConfig, waits: Waits, rng: float = 1.0) -> ResilientProvider:
    return ResilientProvider(OpenAIProvider("remote", cfg), cfg, sleep=waits, rng=lambda: rng)


async def test_server_errors_are_retried_until_success(stub: StubServer) -> None:
    stub.program(Scripted(status=500), Scripted(status=503))
    waits = Waits()
    provider = wrap(config(stub, backoff_base_s=0.5, max_retries=3), waits)
    try:
        response = await provider.complete(REQUEST)
    finally:
        await provider.aclose()
    assert response.text == "Hello from the stub."
    assert response.attempts == 3
    assert stub.stats()["requests"] == 3
    assert waits.seconds == [0.5, 1.0]  # rng pinned at 1: the full exponential ceiling


async def test_retry_after_is_honoured_and_capped(stub: StubServer) -> None:
    stub.program(
        Scripted(status=429, headers={"Retry-After": "7"}),
        Scripted(status=429, headers={"Retry-After": "100000"}),
    )
    waits = Waits()
    provider = wrap(config(stub, backoff_base_s=0.1), waits, rng=0.0)
    try:
        response = await provider.complete(REQUEST)
    finally:
        await provider.aclose()
    assert response.attempts == 3
    assert waits.seconds == [7.0, RETRY_AFTER_CAP_S]


async def test_gives_up_after_max_retries_with_the_last_error(stub: StubServer) -> None:
    stub.program(*[Scripted(status=502)] * 5)
    waits = Waits()
    provider = wrap(config(stub, max_retries=2, backoff_base_s=1.0, backoff_max_s=1.5), waits)
    try:
        with pytest.raises(ProviderError) as caught:
            await provider.complete(REQUEST)
    finally:
        await provider.aclose()
    assert caught.value.status == 502
    assert "gave up after 3 attempts" in str(caught.value)
    assert stub.stats()["requests"] == 3
    assert waits.seconds == [1.0, 1.5]  # the second wait is capped by backoff_max_s


async def test_client_errors_are_not_retried(stub: StubServer) -> None:
    stub.program(Scripted(status=400), Scripted(status=400))
    waits = Waits()
    provider = wrap(config(stub), waits)
    try:
        with pytest.raises(ProviderError) as caught:
            await provider.complete(REQUEST)
    finally:
        await provider.aclose()
    assert caught.value.status == 400
    assert "attempts" not in caught.value.message
    assert stub.stats()["requests"] == 1 and waits.seconds == []


async def test_a_dropped_connection_is_retried(stub: StubServer) -> None:
    stub.program(Scripted(drop=True))
    waits = Waits()
    provider = wrap(config(stub), waits)
    try:
        response = await provider.complete(REQUEST)
    finally:
        await provider.aclose()
    assert response.attempts == 2
    assert stub.stats()["requests"] == 2 and len(waits.seconds) == 1


async def test_timeouts_are_retried_then_raised(stub: StubServer) -> None:
    stub.program(Scripted(delay_s=3.0), Scripted(delay_s=3.0))
    waits = Waits()
    provider = wrap(config(stub, timeout_s=0.2, max_retries=1), waits)
    try:
        with pytest.raises(ProviderTimeout):
            await provider.complete(REQUEST)
    finally:
        await provider.aclose()
    assert stub.stats()["requests"] == 2
    assert len(waits.seconds) == 1


async def test_a_timeout_then_a_quick_answer_succeeds(stub: StubServer) -> None:
    stub.program(Scripted(delay_s=3.0))
    provider = wrap(config(stub, timeout_s=0.2, max_retries=1), Waits())
    try:
        response = await provider.complete(REQUEST)
    finally:
        await provider.aclose()
    assert response.attempts == 2


async def test_the_safety_net_times_out_a_hung_provider(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "andon_hang_rules.py").write_text(
        "import asyncio\n\nasync def hang(variables):\n    await asyncio.sleep(30)\n", encoding="utf-8"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    cfg = ProviderConfig(type="python", timeout_s=0.1, max_retries=0)
    provider = ResilientProvider(PythonProvider("rules", cfg), cfg, sleep=Waits())
    with pytest.raises(ProviderTimeout) as caught:
        await provider.complete(ProviderRequest(model="andon_hang_rules:hang", messages=()))
    assert caught.value.retryable is True


async def test_concurrency_limit_is_respected(stub: StubServer) -> None:
    stub.delay_s = 0.1
    cfg = config(stub, concurrency=3)
    provider = ResilientProvider(OpenAIProvider("remote", cfg), cfg)
    try:
        responses = await asyncio.gather(*(provider.complete(REQUEST) for _ in range(12)))
    finally:
        await provider.aclose()
    assert len(responses) == 12
    stats = stub.stats()
    assert stats["requests"] == 12
    assert stats["peak_in_flight"] == 3


async def test_a_cancelled_call_frees_its_slot(stub: StubServer) -> None:
    stub.delay_s = 5.0
    cfg = config(stub, concurrency=1)
    provider = ResilientProvider(OpenAIProvider("remote", cfg), cfg)
    try:
        hung = asyncio.create_task(provider.complete(REQUEST))
        while stub.stats()["in_flight"] == 0:
            await asyncio.sleep(0.01)
        hung.cancel()
        stub.delay_s = 0.0
        response = await asyncio.wait_for(provider.complete(REQUEST), timeout=5)
    finally:
        await provider.aclose()
    assert response.attempts == 1


@given(
    attempt=st.integers(min_value=1, max_value=30),
    base=st.floats(min_value=0, max_value=10),
    cap=st.floats(min_value=0, max_value=60),
    jitter=st.floats(min_value=0, max_value=1),
    retry_after=st.none() | st.floats(min_value=0, max_value=1e6),
)
def test_backoff_stays_within_jitter_bounds_and_honours_retry_after(
    attempt: int, base: float, cap: float, jitter: float, retry_after: float | None
) -> None:
    cfg = ProviderConfig(type="openai", backoff_base_s=base, backoff_max_s=cap)
    delay = backoff_delay(attempt, cfg, retry_after, lambda: jitter)
    ceiling = min(cap, base * 2.0 ** (attempt - 1))
    assert delay >= 0
    if retry_after is None:
        assert delay <= ceiling
    else:
        assert delay >= min(retry_after, RETRY_AFTER_CAP_S)
        assert delay <= max(ceiling, RETRY_AFTER_CAP_S)


# --- registry -------------------------------------------------------------------------------------


def test_unknown_type_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        build_provider("mine", ProviderConfig(type="gemini"))
    error = caught.value
    assert error.where == "providers.mine.type"
    assert "'gemini'" in error.message
    for name in ("anthropic", "local", "openai", "python"):
        assert name in error.message
    assert isinstance(error, AndonError)


def test_builtin_types_resolve_to_their_classes() -> None:
    from andon.providers.anthropic import AnthropicProvider

    assert provider_class("openai") is OpenAIProvider
    assert provider_class("anthropic") is AnthropicProvider
    assert provider_class("python") is PythonProvider
    assert {"openai", "anthropic", "local", "python"} <= set(known_types())


async def test_build_provider_wraps_in_resilience(stub: StubServer) -> None:
    provider = build_provider("remote", config(stub, max_retries=2, backoff_base_s=0.01))
    assert isinstance(provider, ResilientProvider) and isinstance(provider, Provider)
    assert isinstance(provider.inner, OpenAIProvider)
    assert provider.name == "remote"
    stub.program(Scripted(status=500, headers={"Retry-After": "0"}))
    try:
        response = await provider.complete(REQUEST)
    finally:
        await provider.aclose()
    assert response.attempts == 2


async def test_rate_per_s_spaces_call_starts() -> None:
    """Calls (retries included) start at most rate_per_s per second: the limiter's waits say so."""
    from andon.config.schema import ProviderConfig
    from andon.providers.base import ProviderRequest, ProviderResponse
    from andon.providers.resilience import ResilientProvider

    class Echo:
        name = "echo"

        async def complete(self, request: ProviderRequest) -> ProviderResponse:
            return ProviderResponse(text="ok", model=request.model)

        async def aclose(self) -> None:
            return None

    waits: list[float] = []
    now = [100.0]

    async def record(seconds: float) -> None:
        waits.append(seconds)

    limited = ResilientProvider(Echo(), ProviderConfig(type="python", rate_per_s=4), sleep=record, clock=lambda: now[0])
    for _ in range(5):
        await limited.complete(ProviderRequest(model="m", messages=()))
    assert waits == [0.25, 0.5, 0.75, 1.0]  # the first starts at once, then one every 1/4 s
    unlimited = ResilientProvider(Echo(), ProviderConfig(type="python"), sleep=record, clock=lambda: now[0])
    await unlimited.complete(ProviderRequest(model="m", messages=()))
    assert len(waits) == 4
