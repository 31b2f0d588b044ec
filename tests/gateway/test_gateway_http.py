"""The gateway's HTTP face over real HTTP on 127.0.0.1: invoke, feedback, reviews, auth, limits, logs, health."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from tests.support.gateway_server import GatewayServer, write_workspace

from andon.cli.serve_cmds import _is_loopback
from andon.gateway.auth import KEY_PREFIX, RateLimiter, allows, create_key, hash_secret
from andon.review.queue import ReviewItem
from andon.store import Store
from andon.store.models import ApiKeyRow, FeedbackRow, TraceRow

pytestmark = pytest.mark.timeout(300)


def new_key(url: str, *scopes: str, rate: int | None = None) -> str:
    """A fresh key's secret, made through the real store."""
    with Store.open(url) as store:
        _record, secret = create_key(store, f"test-{'-'.join(scopes)}", scopes, rate)
    return secret


def bearer(secret: str) -> dict[str, str]:
    return {"authorization": f"Bearer {secret}"}


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'andon.db'}"


@pytest.fixture
def served(tmp_path: Path, database_url: str) -> Iterator[tuple[GatewayServer, str]]:
    """A gateway with auth on, on each backend, and the database URL it uses."""
    Store.open(database_url).close()  # migrate here, so keys can be made before the server starts
    with GatewayServer(write_workspace(tmp_path / "ws"), database_url=database_url) as server:
        yield server, database_url


def test_invoke_traces_and_feedback(served: tuple[GatewayServer, str]) -> None:
    server, url = served
    headers = bearer(new_key(url, "invoke"))
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as http:
        response = http.post(
            "/v1/features/echo/invoke",
            json={"variables": {"text": "안녕 bike"}, "user_id": "u-1", "session_id": "s-1", "tags": {"ab": "x"}},
        )
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["output_json"] == {"echo": "안녕 BIKE", "variables": ["text"]}
        assert body["route"] == "ai"
        assert body["status"] == "ok"
        assert body["version_name"] == "v1"
        assert body["version_id"]
        assert body["cached"] is None
        trace_id = body["trace_id"]
        assert response.headers["x-andon-trace-id"] == trace_id

        # A 2xx means the trace is committed: it is readable from another connection right away.
        with Store.open(url) as store, store.engine.connect() as conn:
            row = conn.execute(select(TraceRow).where(TraceRow.id == trace_id)).one()
        assert (row.feature, row.user_id, row.session_id, row.status) == ("echo", "u-1", "s-1", "ok")

        assert http.post(f"/v1/traces/{trace_id}/feedback", json={"thumbs": 1, "comment": "good"}).status_code == 201
        with Store.open(url) as store, store.engine.connect() as conn:
            feedback = conn.execute(select(FeedbackRow).where(FeedbackRow.trace_id == trace_id)).one()
        assert (feedback.thumbs, feedback.comment) == (1, "good")

        missing = http.post("/v1/traces/trc_nope/feedback", json={"score": 0.5})
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "not_found"
        empty = http.post(f"/v1/traces/{trace_id}/feedback", json={})
        assert empty.status_code == 400
        assert empty.json()["error"]["code"] == "invalid_request"


def test_errors_are_json_with_stable_codes(served: tuple[GatewayServer, str]) -> None:
    server, url = served
    headers = bearer(new_key(url, "invoke"))
    not_json = {"content": b"{not json", "headers": {"content-type": "application/json"}}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as http:
        cases = [
            (http.post("/v1/features/nope/invoke", json={}), 404, "not_found"),
            (http.post("/v1/features/echo/invoke", json={"variables": [1, 2]}), 400, "invalid_request"),
            (http.post("/v1/features/echo/invoke", json={"variables": {}, "surprise": 1}), 400, "invalid_request"),
            (http.post("/v1/features/echo/invoke", **not_json), 400, "invalid_request"),
            (http.post("/v1/features/echo/invoke", json={"version": "v9"}), 404, "not_found"),
            (http.get("/v1/features/echo/invoke"), 405, "method_not_allowed"),
            (http.get("/no/such/route"), 404, "not_found"),
        ]  # fmt: skip
        for response, status, code in cases:
            assert response.status_code == status, response.text
            error = response.json()["error"]
            assert error["code"] == code
            assert error["message"]
            assert error["trace_id"] == response.headers["x-andon-trace-id"]
        # A field named as the datasets name it (`vars`) or nearly (`user`): the hint names the body's own field.
        misnamed = http.post("/v1/features/echo/invoke", json={"vars": {"text": "x"}, "user": "u1"}).json()["error"]
        assert "`vars` -> `variables`" in misnamed["hint"] and "`user` -> `user_id`" in misnamed["hint"]
        assert "the body takes: variables, version, user_id" in misnamed["hint"]

        # A provider failure with no fallback is an error result: traced, and a JSON error naming the trace.
        broken = http.post("/v1/features/broken/invoke", json={"variables": {"text": "x"}})
        assert broken.status_code in (502, 503), broken.text
        error = broken.json()["error"]
        assert error["code"] in ("provider_error", "provider_unavailable")
        assert broken.headers["x-should-retry"] == "false"
        with Store.open(url) as store, store.engine.connect() as conn:
            row = conn.execute(select(TraceRow).where(TraceRow.id == error["trace_id"])).one()
        assert row.status == "error"


def test_input_no_store_can_keep_is_refused_not_a_500(served: tuple[GatewayServer, str]) -> None:
    server, url = served
    headers = {**bearer(new_key(url, "admin")), "content-type": "application/json"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=30) as http:
        trace_id = http.post("/v1/features/echo/invoke", json={}).json()["trace_id"]
        with Store.open(url) as store:
            item = ReviewItem.new("echo", "shadow")
            store.add_review_item(item)
        chat = '{"model": "feature:echo", "messages": [{"role": "user", "content": %s}]}'
        bodies = [
            ("/v1/features/echo/invoke", '{"user_id": "a\\u0000b"}'),  # PostgreSQL text cannot hold NUL
            ("/v1/features/echo/invoke", '{"variables": {"k": "\\ud800"}}'),  # a lone surrogate is not UTF-8
            ("/v1/features/echo/invoke", '{"variables": {"k": NaN}}'),  # Python's json reads it; JSON has none
            ("/v1/features/echo/invoke", '{"tags": {"k": 1e999}}'),
            (f"/v1/traces/{trace_id}/feedback", '{"comment": "\\u0000"}'),
            (f"/v1/reviews/{item.id}/decision", '{"label": "\\u0000"}'),
            (f"/v1/reviews/{item.id}/decision", '{"decision": {"k": "\\udfff"}}'),
            ("/v1/chat/completions", chat % '"\\ud800"'),
        ]
        for path, body in bodies:
            response = http.post(path, content=body.encode())
            assert response.status_code == 400, (path, body, response.text)
            assert response.json()["error"]["code"] == "invalid_request"
        # A message with NaN is not a JSON object, so it is served as text, not refused.
        as_text = http.post("/v1/chat/completions", content=(chat % '"{\\"k\\": NaN}"').encode())
        assert as_text.status_code == 200
        assert json.loads(as_text.json()["choices"][0]["message"]["content"])["variables"] == ["input", "messages"]
        assert http.get("/readyz").status_code == 200


def test_auth_scopes_and_revocation(served: tuple[GatewayServer, str]) -> None:
    server, url = served
    invoke_only = new_key(url, "invoke")
    review_only = new_key(url, "review")
    admin = new_key(url, "admin")
    body = {"variables": {"text": "x"}}
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        anonymous = http.post("/v1/features/echo/invoke", json=body)
        assert anonymous.status_code == 401
        assert anonymous.json()["error"]["code"] == "unauthorized"
        assert anonymous.headers["www-authenticate"] == "Bearer"
        unknown = http.post("/v1/features/echo/invoke", json=body, headers=bearer(KEY_PREFIX + "x" * 43))
        assert unknown.status_code == 401

        refused = http.post("/v1/features/echo/invoke", json=body, headers=bearer(review_only))
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "forbidden"
        assert http.get("/v1/reviews", headers=bearer(invoke_only)).status_code == 403
        assert http.get("/v1/reviews", headers=bearer(review_only)).status_code == 200
        assert http.post("/v1/features/echo/invoke", json=body, headers=bearer(invoke_only)).status_code == 200
        # admin includes every scope
        assert http.post("/v1/features/echo/invoke", json=body, headers=bearer(admin)).status_code == 200
        assert http.get("/v1/reviews", headers=bearer(admin)).status_code == 200

        with Store.open(url) as store:
            key = store.api_key_by_hash(hash_secret(invoke_only))
            assert key is not None
            store.revoke_api_key(key.id)
        # Another process revoked it: the gateway's key cache refuses it once its entry expires (2 s default).
        deadline = time.monotonic() + 30
        revoked = http.post("/v1/features/echo/invoke", json=body, headers=bearer(invoke_only))
        while revoked.status_code == 200 and time.monotonic() < deadline:
            time.sleep(0.2)
            revoked = http.post("/v1/features/echo/invoke", json=body, headers=bearer(invoke_only))
        assert revoked.status_code == 401
        assert "revoked" in revoked.json()["error"]["message"]


def test_rate_limit_answers_429_with_retry_after(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    Store.open(url).close()
    limited = new_key(url, "invoke", rate=3)
    other = new_key(url, "invoke", rate=3)
    with (
        GatewayServer(write_workspace(tmp_path / "ws"), database_url=url) as server,
        httpx.Client(base_url=server.base_url, timeout=30) as http,
    ):
        statuses = [
            http.post("/v1/features/echo/invoke", json={}, headers=bearer(limited)).status_code for _ in range(3)
        ]
        assert statuses == [200, 200, 200]
        refused = http.post("/v1/features/echo/invoke", json={}, headers=bearer(limited))
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "rate_limited"
        # 3 per minute refills one token per 20 s: the wait is whole seconds, at most 20.
        assert 1 <= int(refused.headers["retry-after"]) <= 20
        # Buckets are per key: another key is not affected.
        assert http.post("/v1/features/echo/invoke", json={}, headers=bearer(other)).status_code == 200


def test_request_size_limit_by_header_and_by_counting(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    ws = write_workspace(tmp_path / "ws", gateway={"max_request_bytes": 2048, "auth": False})
    big = json.dumps({"variables": {"text": "x" * 4000}}).encode()

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(big), 256):
            yield big[start : start + 256]

    with GatewayServer(ws, database_url=url) as server, httpx.Client(base_url=server.base_url, timeout=30) as http:
        by_header = http.post("/v1/features/echo/invoke", content=big, headers={"content-type": "application/json"})
        assert by_header.status_code == 413
        assert by_header.json()["error"]["code"] == "payload_too_large"
        # No Content-Length (chunked): the body is counted as it streams in.
        streamed = http.post("/v1/features/echo/invoke", content=chunks(), headers={"content-type": "application/json"})
        assert "content-length" not in streamed.request.headers
        assert streamed.status_code == 413
        assert streamed.json()["error"]["code"] == "payload_too_large"
        small = http.post("/v1/features/echo/invoke", json={"variables": {"text": "x" * 100}})
        assert small.status_code == 200


def test_health_readiness_metrics_and_json_logs(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    ws = write_workspace(tmp_path / "ws", gateway={"auth": False})
    with GatewayServer(ws, database_url=url) as server, httpx.Client(base_url=server.base_url, timeout=30) as http:
        assert http.get("/healthz").json() == {"status": "ok"}
        ready = http.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"store": True, "gateway": True}
        invoked = http.post("/v1/features/echo/invoke", json={"variables": {"text": "hi"}})
        assert invoked.status_code == 200
        trace_id = invoked.json()["trace_id"]
        metrics = http.get("/metrics")
        assert metrics.status_code == 200
        assert metrics.headers["content-type"].startswith("text/plain")
        assert 'feature="echo"' in metrics.text
        health_id = http.get("/healthz").headers["x-andon-trace-id"]
        assert health_id.startswith("req_")
        server.stop()  # flushes the log
    lines = [e for e in server.log_lines() if e.get("logger") == "andon.gateway.access"]
    invoke_lines = [e for e in lines if e.get("path") == "/v1/features/echo/invoke"]
    assert len(invoke_lines) == 1
    entry = invoke_lines[0]
    assert (entry["method"], entry["status"], entry["trace_id"]) == ("POST", 200, trace_id)
    assert entry["latency_ms"] >= 0
    assert any(e.get("trace_id") == health_id and e.get("status") == 200 for e in lines)


def test_cors_is_off_unless_origins_are_configured(tmp_path: Path) -> None:
    preflight = {"origin": "https://app.example", "access-control-request-method": "POST"}
    for origins, allowed in (([], False), (["https://app.example"], True)):
        folder = tmp_path / f"ws{len(origins)}"
        ws = write_workspace(folder, gateway={"auth": False, "cors_origins": origins})
        with (
            GatewayServer(ws, database_url=sqlite_url(folder)) as server,
            httpx.Client(base_url=server.base_url, timeout=30) as http,
        ):
            answer = http.options("/v1/features/echo/invoke", headers=preflight)
            simple = http.get("/healthz", headers={"origin": "https://app.example"})
            other = http.get("/healthz", headers={"origin": "https://evil.example"})
        assert (answer.headers.get("access-control-allow-origin") == "https://app.example") is allowed
        assert (simple.headers.get("access-control-allow-origin") == "https://app.example") is allowed
        assert "access-control-allow-origin" not in other.headers


def test_reviews_list_and_decide_once(served: tuple[GatewayServer, str]) -> None:
    server, url = served
    with Store.open(url) as store:
        item = ReviewItem.new("echo", "shadow", input={"text": "x"}, suggestion_text="AI says yes")
        store.add_review_item(item)
    reviewer = bearer(new_key(url, "review"))
    with httpx.Client(base_url=server.base_url, headers=reviewer, timeout=30) as http:
        listed = http.get("/v1/reviews", params={"feature": "echo"}).json()["items"]
        assert [i["id"] for i in listed] == [item.id]
        assert listed[0]["suggestion_text"] == "AI says yes"
        decided = http.post(f"/v1/reviews/{item.id}/decision", json={"label": "approve", "comment": "ok"})
        assert decided.status_code == 200, decided.text
        assert decided.json()["status"] == "decided"
        assert decided.json()["decided_by"] == "key:test-review"
        again = http.post(f"/v1/reviews/{item.id}/decision", json={"label": "reject"})
        assert again.status_code == 409
        assert again.json()["error"]["code"] == "conflict"
        assert http.get("/v1/reviews", params={"feature": "echo"}).json()["items"] == []
        assert http.get("/v1/reviews", params={"status": "decided"}).json()["items"][0]["label"] == "approve"
        nothing = http.post(f"/v1/reviews/{item.id}/decision", json={})
        assert nothing.status_code == 400
        unknown = http.post("/v1/reviews/rev_unknown/decision", json={"label": "x"})
        assert unknown.status_code == 404


def test_keys_cli_shows_the_secret_once_and_stores_its_hash(tmp_path: Path) -> None:
    ws = write_workspace(tmp_path / "ws")
    url = sqlite_url(tmp_path)

    def andon(*args: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "ANDON_DATABASE_URL": url, "ANDON_LANG": "en"}
        env.pop("ANDON_WORKSPACE", None)
        command = [sys.executable, "-m", "andon", "--workspace", str(ws), "keys", *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)

    created = andon("create", "shop", "--scope", "invoke", "--scope", "review", "--rate", "60", "--json")
    assert created.returncode == 0, created.stderr
    shown = json.loads(created.stdout)
    secret = shown["secret"]
    assert secret.startswith(KEY_PREFIX) and len(secret) == len(KEY_PREFIX) + 43
    assert shown["scopes"] == ["invoke", "review"]
    assert shown["rate_limit_per_min"] == 60
    with Store.open(url) as store, store.engine.connect() as conn:
        row = conn.execute(select(ApiKeyRow)).one()
    assert row.secret_hash == hash_secret(secret)
    assert secret not in json.dumps([str(v) for v in row._mapping.values()])

    human = andon("create", "other")
    assert human.returncode == 0
    assert human.stdout.count(KEY_PREFIX) == 1  # the secret, once; the warning goes to stderr
    assert "cannot be shown again" in human.stderr

    listed = andon("list", "--json")
    assert listed.returncode == 0
    assert KEY_PREFIX + secret[len(KEY_PREFIX) :][:20] not in listed.stdout
    assert [k["name"] for k in json.loads(listed.stdout)] == ["shop", "other"]
    bad_scope = andon("create", "x", "--scope", "root")
    assert bad_scope.returncode == 2
    assert "unknown scope" in bad_scope.stderr and "Traceback" not in bad_scope.stderr

    revoked = andon("revoke", shown["id"], "--json")
    assert revoked.returncode == 0, revoked.stderr
    assert json.loads(revoked.stdout)["revoked_at"]
    assert [k["name"] for k in json.loads(andon("list", "--json").stdout)] == ["other"]
    assert len(json.loads(andon("list", "--all", "--json").stdout)) == 2
    unknown = andon("revoke", "key_nothing")
    assert unknown.returncode == 2 and "no API key" in unknown.stderr


def test_dev_mode_warns_when_listening_beyond_loopback(tmp_path: Path) -> None:
    ws = write_workspace(tmp_path / "ws", gateway={"auth": False})
    env = {**os.environ, "ANDON_DATABASE_URL": sqlite_url(tmp_path)}
    env.pop("ANDON_WORKSPACE", None)
    # 192.0.2.1 is a documentation address no machine has: the bind fails, after the warning, and nothing listens.
    command = [sys.executable, "-m", "andon", "-w", str(ws), "serve", "--host", "192.0.2.1", "--port", "8787"]
    warned = subprocess.run([*command, "--log-json"], env=env, capture_output=True, text=True, timeout=120)
    assert warned.returncode != 0
    warnings = [json.loads(line) for line in warned.stderr.splitlines() if line.startswith("{")]
    assert any(w["level"] == "warning" and "gateway.auth is false" in w["msg"] for w in warnings), warned.stderr
    write_workspace(tmp_path / "ws", gateway={"auth": True})
    quiet = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert "gateway.auth is false" not in quiet.stderr


def test_workers_share_one_store(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path)
    ws = write_workspace(tmp_path / "ws", gateway={"auth": False})
    with GatewayServer(ws, database_url=url, workers=2) as server, httpx.Client(base_url=server.base_url) as http:
        ids = [http.post("/v1/features/echo/invoke", json={}, timeout=30).json()["trace_id"] for _ in range(6)]
    with Store.open(url) as store, store.engine.connect() as conn:
        stored = set(conn.scalars(select(TraceRow.id)))
    assert set(ids) <= stored


# --- properties of the parts -----------------------------------------------------------------------


@settings(max_examples=200)
@given(
    per_minute=st.integers(min_value=1, max_value=600),
    gaps=st.lists(st.floats(min_value=0, max_value=30, allow_nan=False), min_size=1, max_size=80),
)
def test_token_bucket_never_allows_more_than_burst_plus_refill(per_minute: int, gaps: list[float]) -> None:
    now = [0.0]
    limiter = RateLimiter(clock=lambda: now[0])
    allowed_at: list[float] = []
    for gap in gaps:
        now[0] += gap
        wait = limiter.acquire("k", per_minute)
        if wait == 0.0:
            allowed_at.append(now[0])
        else:
            assert 0 < wait <= 60 / per_minute + 1e-9
    # In any window, at most a full bucket plus what refilled during it.
    for i, start in enumerate(allowed_at):
        for j in range(i, len(allowed_at)):
            window = allowed_at[j] - start
            assert j - i + 1 <= per_minute + window * per_minute / 60 + 1e-6


@given(st.lists(st.sampled_from(["invoke", "review", "admin"]), unique=True), st.sampled_from(["invoke", "review"]))
def test_admin_grants_every_scope(scopes: list[str], needed: str) -> None:
    assert allows(scopes, needed) == (needed in scopes or "admin" in scopes)


def test_loopback_hosts() -> None:
    assert _is_loopback("127.0.0.1") and _is_loopback("::1") and _is_loopback("localhost")
    assert not _is_loopback("0.0.0.0") and not _is_loopback("192.168.0.10") and not _is_loopback("example.com")


def test_keys_commands_need_no_provider_secrets(tmp_path: Path) -> None:
    # Keys live in the store alone: a missing ${OPENAI_API_KEY} in andon.yaml must not stop a revocation.
    ws = tmp_path / "ws"
    write_workspace(ws)
    config = json.loads((ws / "andon.yaml").read_text(encoding="utf-8"))
    config["providers"]["remote"] = {"type": "openai", "api_key": "${ANDON_TEST_UNSET_SECRET}", "model": "m"}
    (ws / "andon.yaml").write_text(json.dumps(config), encoding="utf-8")
    url = sqlite_url(tmp_path)
    env = {**os.environ, "ANDON_DATABASE_URL": url, "ANDON_LANG": "en"}
    for name in ("ANDON_WORKSPACE", "ANDON_TEST_UNSET_SECRET"):
        env.pop(name, None)

    def andon(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "andon", "--workspace", str(ws), "keys", *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)

    created = andon("create", "ci", "--json")
    assert created.returncode == 0, created.stderr
    key_id = json.loads(created.stdout)["id"]
    assert andon("list", "--json").returncode == 0
    revoked = andon("revoke", key_id, "--json")
    assert revoked.returncode == 0, revoked.stderr
    assert json.loads(revoked.stdout)["revoked_at"]
    # The workspace is still found from the folder; elsewhere there is none, and the error says so.
    outside = subprocess.run(
        [sys.executable, "-m", "andon", "--workspace", str(tmp_path / "nowhere"), "keys", "list"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert outside.returncode != 0 and "andon.yaml" in outside.stderr and "Traceback" not in outside.stderr
