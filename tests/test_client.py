"""andon.Client and andon.AsyncClient against the real gateway on 127.0.0.1, on both backends."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.gateway_server import GatewayServer, free_port, write_workspace

import andon
from andon.client import (
    APIConnectionError,
    APIError,
    AuthenticationError,
    ConflictError,
    InvalidRequestError,
    PermissionDeniedError,
    ProviderUnavailableError,
    RateLimitError,
    ResourceNotFoundError,
)
from andon.errors import AndonError
from andon.gateway.auth import create_key
from andon.gateway.types import InvokeResult
from andon.review.queue import ReviewItem
from andon.store import Store

pytestmark = pytest.mark.timeout(300)


class Keys:
    """Secrets of keys made for one test server."""

    def __init__(self, url: str) -> None:
        with Store.open(url) as store:
            self.invoke = create_key(store, "app", ["invoke"], None)[1]
            self.reviewer = create_key(store, "reviewer", ["review"], None)[1]
            self.limited = create_key(store, "limited", ["invoke"], 2)[1]


@pytest.fixture
def gateway(tmp_path: Path, database_url: str) -> Iterator[tuple[GatewayServer, Keys, str]]:
    Store.open(database_url).close()
    keys = Keys(database_url)
    with GatewayServer(write_workspace(tmp_path / "ws"), database_url=database_url) as server:
        yield server, keys, database_url


def test_sync_client_invoke_feedback_decide_and_errors(gateway: tuple[GatewayServer, Keys, str]) -> None:
    server, keys, url = gateway
    with andon.Client(server.base_url, api_key=keys.invoke) as client:
        result = client.invoke("echo", {"text": "hello"}, user_id="u1", tags={"exp": "a"})
        assert isinstance(result, InvokeResult)
        assert result.output_json == {"echo": "HELLO", "variables": ["text"]}
        assert (result.route, result.status, result.version_name) == ("ai", "ok", "v1")
        client.feedback(result.trace_id, score=0.9, thumbs=1, comment="nice")
        with Store.open(url) as store:
            [feedback] = store.list_feedback(result.trace_id)
        assert (feedback.score, feedback.thumbs) == (0.9, 1)

        with pytest.raises(ResourceNotFoundError) as missing:
            client.invoke("no-such-feature", {})
        assert missing.value.code == "not_found" and missing.value.status == 404
        assert missing.value.trace_id  # to quote in a bug report
        assert isinstance(missing.value, AndonError)  # one hierarchy: the CLI and apps catch it the same way
        with pytest.raises(InvalidRequestError) as invalid:
            client.feedback(result.trace_id)
        assert invalid.value.code == "invalid_request"
        with pytest.raises(ProviderUnavailableError) as failed:
            client.invoke("broken", {"text": "x"})
        assert failed.value.trace_id and failed.value.trace_id.startswith("trc_")
        with pytest.raises(PermissionDeniedError) as denied:
            client.decide("rev_x", label="ok")
        assert denied.value.code == "forbidden"

    with Store.open(url) as store:
        item = ReviewItem.new("echo", "shadow", trace_id=result.trace_id, suggestion_text="yes")
        store.add_review_item(item)
    with andon.Client(server.base_url, api_key=keys.reviewer) as reviewer:
        decided = reviewer.decide(item.id, decision={"answer": "no"}, label="reject", comment="wrong")
        assert (decided.id, decided.status, decided.label) == (item.id, "decided", "reject")
        assert decided.decision == {"answer": "no"}
        assert decided.decided_by == "key:reviewer" and decided.decided_at is not None
        with pytest.raises(ConflictError):
            reviewer.decide(item.id, label="approve")

    with (
        andon.Client(server.base_url, api_key="andon_sk_not-a-key") as stranger,
        pytest.raises(AuthenticationError) as refused,
    ):
        stranger.invoke("echo", {})
        assert refused.value.code == "unauthorized" and refused.value.status == 401

    with andon.Client(server.base_url, api_key=keys.limited) as limited:
        limited.invoke("echo", {})
        limited.invoke("echo", {})
        with pytest.raises(RateLimitError) as slow_down:
            limited.invoke("echo", {})
        assert slow_down.value.retry_after is not None and 0 < slow_down.value.retry_after <= 30


async def test_async_client(gateway: tuple[GatewayServer, Keys, str]) -> None:
    server, keys, _url = gateway
    async with andon.AsyncClient(server.base_url, api_key=keys.invoke) as client:
        result = await client.invoke("echo", {"text": "비동기"}, session_id="s1")
        assert result.output_json == {"echo": "비동기", "variables": ["text"]}
        await client.feedback(result.trace_id, thumbs=-1)
        with pytest.raises(ResourceNotFoundError):
            await client.feedback("trc_missing", thumbs=1)
        with pytest.raises(ResourceNotFoundError):
            await client.invoke("echo", {}, version="v404")


def test_client_reads_its_settings_from_the_environment(
    gateway: tuple[GatewayServer, Keys, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, keys, _url = gateway
    monkeypatch.setenv("ANDON_BASE_URL", server.base_url)
    monkeypatch.setenv("ANDON_API_KEY", keys.invoke)
    with andon.Client() as client:
        assert client.invoke("echo", {"text": "env"}).output_json["echo"] == "ENV"


def test_unreachable_gateway_is_a_connection_error() -> None:
    with (
        andon.Client(f"http://127.0.0.1:{free_port()}", api_key="x", timeout=5) as client,
        pytest.raises(APIConnectionError) as unreachable,
    ):
        client.invoke("echo", {})
    assert unreachable.value.code == "connection_error"
    assert isinstance(unreachable.value, APIError)
