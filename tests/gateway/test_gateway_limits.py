"""The gateway's edge against hostile or careless input, over real HTTP on 127.0.0.1 (issue 17, 16.7).

Deep nesting, NUL bytes and odd variable names are refused (or served) without a 500; only declared models
can be named; plain-text chat messages fill a feature's ``chat_input`` or get an error naming its variables.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from tests.support.gateway_server import RULES, GatewayServer, StubProcess, workspace_config

from andon.gateway.auth import create_key
from andon.gateway.jsonlimits import MAX_JSON_DEPTH, nesting_depth
from andon.store import Store
from andon.versions.render import render_template

pytestmark = pytest.mark.timeout(300)


def nested(depth: int) -> Any:
    """A JSON value nesting ``depth`` levels (lists and objects in turn)."""
    value: Any = "leaf"
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


def deep_text(depth: int, bracket: str = "[") -> str:
    """JSON text nesting ``depth`` arrays (or objects with key k), built as text: json.dumps would recurse."""
    if bracket == "[":
        return "[" * depth + "]" * depth
    return '{"k": ' * depth + "1" + "}" * depth


def message(model: str, content: str, extra: str = "") -> str:
    """A chat request as JSON text, from the JSON texts of its model and user message (plus extra members)."""
    return '{"model": ' + model + ', "messages": [{"role": "user", "content": ' + content + "}]" + extra + "}"


def write_limits_workspace(folder: Path, stub_url: str, **gateway: Any) -> Path:
    """The test workspace plus a local provider and features whose prompts use named variables."""
    config = workspace_config(
        stub_url=stub_url,
        gateway=gateway,
        features={
            "broken": None,
            "selfish": {"versions": {"v1": {"provider": "stub", "prompt": "{{ source }} and {{ other }}"}}},
            "menu": {"versions": {"v1": {"provider": "stub", "prompt": "Store {{ store }} says: {{ text }}"}}},
            "menu-v2": {"versions": {"v1": {"provider": "stub", "model": "stub-v2", "prompt": "{{ input }}"}}},
            "ask": {"chat_input": "question", "versions": {"v1": {"provider": "stub", "prompt": "Q: {{ question }}"}}},
        },
    )
    config["providers"]["local"] = {"type": "local", "model": "qwen2.5-coder-0.5b"}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "andon.yaml").write_text(json.dumps(config, indent=2), encoding="utf-8")
    (folder / "gw_rules.py").write_text(RULES, encoding="utf-8")
    return folder


@pytest.fixture
def stub() -> Iterator[StubProcess]:
    with StubProcess(echo=True) as process:
        yield process


@pytest.fixture
def limited(tmp_path: Path, database_url: str, stub: StubProcess) -> Iterator[tuple[GatewayServer, str]]:
    """A gateway (auth on) on each backend, and an admin key's secret."""
    with Store.open(database_url) as store:
        _record, secret = create_key(store, "limits-admin", ["admin"], None)
    ws = write_limits_workspace(tmp_path / "ws", stub.base_url)
    with GatewayServer(ws, database_url=database_url) as server:
        yield server, secret


def chat(model: str, content: Any, **extra: Any) -> dict[str, Any]:
    return {"model": model, "messages": [{"role": "user", "content": content}], **extra}


# --- issue 17.9: four ways to a 500 ----------------------------------------------------------------------


def test_deep_nesting_nul_bytes_and_odd_names_are_never_a_500(limited: tuple[GatewayServer, str]) -> None:
    server, secret = limited
    headers = {"authorization": f"Bearer {secret}", "content-type": "application/json"}
    with httpx.Client(base_url=server.base_url, headers=headers, timeout=60) as http:
        trace_id = http.post("/v1/features/echo/invoke", json={}).json()["trace_id"]
        deep, deeper_object = deep_text(500), deep_text(5000, "{")
        schema = '{"type": "json_schema", "json_schema": {"name": "deep", "schema": ' + deep_text(300, "{") + "}}"
        refused = [
            ("/v1/features/echo/invoke", '{"variables": {"k": ' + deep + "}}"),
            ("/v1/features/echo/invoke", '{"tags": {"k": ' + deep + "}}"),
            ("/v1/reviews/rev_nothing/decision", '{"decision": {"k": ' + deep + "}}"),
            ("/v1/chat/completions", message('"stub/stub-model"', '"x"', ', "response_format": ' + schema)),
            ("/v1/chat/completions", message('"feature:echo"', json.dumps(deeper_object), "")),  # JSON as text
            ("/v1/chat/completions", message('"feature:echo@v1\\u0000"', '"x"', "")),  # PostgreSQL refuses NUL
            ("/v1/chat/completions", message('"stub/stub-model\\u0000"', '"x"', "")),
            ("/v1/chat/completions", message('"feature:echo"', '"a\\u0000b"', "")),
            ("/v1/chat/completions", message('"feature:echo"', json.dumps('{"text": "a\\u0000b"}'), "")),
            ("/v1/chat/completions", message('"feature:echo"', '"x"', ', "metadata": {"k": "\\u0000"}')),
            ("/v1/features/echo/invoke", '{"variables": {"k\\u0000": 1}}'),
            (f"/v1/traces/{trace_id}/feedback", '{"score": 1, "user_id": "\\u0000"}'),
        ]
        for path, body in refused:
            response = http.post(path, content=body.encode())
            where = (path, body[:120])
            assert response.status_code == 400, (where, response.text[:300])
            error = response.json()["error"]
            assert error["code"] == "invalid_request", where
            assert error["trace_id"] == response.headers["x-andon-trace-id"]
        too_deep = http.post("/v1/features/echo/invoke", content=refused[0][1].encode()).json()["error"]
        assert str(MAX_JSON_DEPTH) in too_deep["message"]

        # The limit is on the whole body: exactly MAX_JSON_DEPTH levels pass, one more does not.
        at_limit = {"variables": {"k": nested(MAX_JSON_DEPTH - 2)}}
        assert nesting_depth(json.dumps(at_limit)) == MAX_JSON_DEPTH
        assert http.post("/v1/features/echo/invoke", json=at_limit).status_code == 200
        over = {"variables": {"k": nested(MAX_JSON_DEPTH - 1)}}
        assert http.post("/v1/features/echo/invoke", json=over).status_code == 400

        # A text that only looks deep (an array, not an object) is plain text to the feature, as any other.
        as_text = http.post(
            "/v1/chat/completions", content=(message('"feature:echo"', json.dumps(deep_text(5000)), "")).encode()
        )
        assert as_text.status_code == 200, as_text.text[:300]

        # `self` (render's own first parameter) and `source` are ordinary variable names.
        variables = {"self": "me", "source": "them", "other": "you"}
        selfish = http.post("/v1/features/selfish/invoke", json={"variables": variables})
        assert selfish.status_code == 200, selfish.text
        assert selfish.json()["output_text"] == "them and you"
        assert http.get("/readyz").status_code == 200


def test_templates_take_any_variable_name() -> None:
    names = {"self": 1, "source": 2, "args": 3, "kwargs": 4}
    # Inside a template `self` is Jinja's own name, so only the others are shown; passing it must not fail.
    assert render_template("{{ source }} {{ args }} {{ kwargs }}", names, "test") == "2 3 4"


@given(
    st.recursive(
        st.none() | st.integers() | st.text(),
        lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
        max_leaves=30,
    )
)
def test_nesting_depth_matches_the_structure(value: Any) -> None:
    def depth(v: Any) -> int:
        if isinstance(v, list):
            return 1 + max((depth(x) for x in v), default=0)
        if isinstance(v, dict):
            return 1 + max((depth(x) for x in v.values()), default=0)
        return 0

    text = json.dumps(value)
    assert nesting_depth(text) == depth(value)
    assert nesting_depth(text.encode()) == depth(value)
    assert nesting_depth(json.dumps(value, ensure_ascii=False).encode()) == depth(value)


def test_brackets_inside_strings_do_not_count() -> None:
    assert nesting_depth('{"a": "[[[{{{", "b": "\\"[[["}') == 1
    assert nesting_depth('"[[[["') == 0
    assert nesting_depth(b"[" * 1000) == 1000


# --- issue 17.4: the caller does not choose which file llama.cpp loads -----------------------------------


def test_only_models_andon_yaml_declares_can_be_named(tmp_path: Path, stub: StubProcess) -> None:
    url = f"sqlite:///{tmp_path / 'andon.db'}"
    with Store.open(url) as store:
        _record, admin = create_key(store, "admin", ["admin"], None)
        _record, invoker = create_key(store, "app", ["invoke"], None)
    ws = write_limits_workspace(tmp_path / "ws", stub.base_url, models=["stub/allowed-extra"])
    garbage = tmp_path / "exists.gguf"
    garbage.write_bytes(b"not a model at all")
    with GatewayServer(ws, database_url=url) as server, httpx.Client(base_url=server.base_url, timeout=60) as http:
        for secret in (admin, invoker):
            headers = {"authorization": f"Bearer {secret}"}
            answers = {}
            for name in ("exists", "missing"):
                model = f"local/{tmp_path / name}.gguf"
                response = http.post("/v1/chat/completions", json=chat(model, "hi"), headers=headers)
                assert response.status_code == 404, response.text
                error = response.json()["error"]
                assert error["code"] == "not_found"
                answers[name] = json.dumps({k: v for k, v in error.items() if k != "trace_id"}).replace(model, "M")
            # Refused before any file is looked at: an existing file and a missing one get the same answer.
            assert answers["exists"] == answers["missing"]
            for refused in ("stub/gpt-anything", "local/qwen2.5-coder-1.5b", "local/../../etc/passwd"):
                response = http.post("/v1/chat/completions", json=chat(refused, "hi"), headers=headers)
                assert response.status_code == 404, (refused, response.text)
            for allowed in ("stub/stub-model", "stub", "stub/stub-v2", "stub/allowed-extra"):
                response = http.post("/v1/chat/completions", json=chat(allowed, "echo me"), headers=headers)
                assert response.status_code == 200, (allowed, response.text)
                assert response.json()["choices"][0]["message"]["content"] == "echo me"
        listed = {
            m["id"] for m in http.get("/v1/models", headers={"authorization": f"Bearer {invoker}"}).json()["data"]
        }
        assert {"stub/stub-model", "stub/stub-v2", "stub/allowed-extra", "local/qwen2.5-coder-0.5b"} <= listed
        assert not any(".gguf" in m for m in listed)


# --- issue 17.12: what callers may see -------------------------------------------------------------------


def test_names_are_listed_to_admin_keys_only_and_metrics_need_their_scope(tmp_path: Path, stub: StubProcess) -> None:
    url = f"sqlite:///{tmp_path / 'andon.db'}"
    with Store.open(url) as store:
        secrets = {scope: create_key(store, scope, [scope], None)[1] for scope in ("admin", "invoke", "metrics")}
    ws = write_limits_workspace(tmp_path / "ws", stub.base_url)
    with GatewayServer(ws, database_url=url) as server, httpx.Client(base_url=server.base_url, timeout=60) as http:
        for scope, listed in (("admin", True), ("invoke", False)):
            headers = {"authorization": f"Bearer {secrets[scope]}"}
            answers = [
                http.post("/v1/features/nope/invoke", json={}, headers=headers),
                http.post("/v1/features/echo/invoke", json={"version": "v9"}, headers=headers),
                http.post("/v1/chat/completions", json=chat("feature:nope", "x"), headers=headers),
                http.post("/v1/chat/completions", json=chat("feature:echo@v9", "x"), headers=headers),
                http.post("/v1/chat/completions", json=chat("gpt-nothing", "x"), headers=headers),
            ]
            for answer in answers:
                assert answer.status_code == 404, answer.text
                error = answer.json()["error"]
                shown = error["message"] + " " + error.get("hint", "")
                assert error["code"] == "not_found"
                # The names of other features, versions and providers: for admin keys only.
                assert any(name in shown for name in ("feature:echo", "echo,", "v1 (", "stub/stub-model")) is listed, (
                    scope,
                    shown,
                )

        assert http.get("/metrics").status_code == 401
        assert http.get("/metrics", headers={"authorization": f"Bearer {secrets['invoke']}"}).status_code == 403
        for scope in ("metrics", "admin"):
            scraped = http.get("/metrics", headers={"authorization": f"Bearer {secrets[scope]}"})
            assert scraped.status_code == 200, scraped.text
            assert "andon_requests" in scraped.text


# --- issue 16.7: plain text to a feature -----------------------------------------------------------------


def test_plain_text_fills_chat_input_or_the_error_names_the_variables(tmp_path: Path, stub: StubProcess) -> None:
    url = f"sqlite:///{tmp_path / 'andon.db'}"
    with Store.open(url) as store:
        _record, secret = create_key(store, "app", ["invoke"], None)
    ws = write_limits_workspace(tmp_path / "ws", stub.base_url)
    headers = {"authorization": f"Bearer {secret}"}
    with GatewayServer(ws, database_url=url) as server, httpx.Client(base_url=server.base_url, timeout=60) as http:
        # `ask` names its chat_input: the message text is that variable.
        asked = http.post("/v1/chat/completions", json=chat("feature:ask", "what is andon?"), headers=headers)
        assert asked.status_code == 200, asked.text
        assert asked.json()["choices"][0]["message"]["content"] == "Q: what is andon?"

        # `menu` does not: plain text cannot fill `store` and `text`, and the error says what to send.
        plain = http.post("/v1/chat/completions", json=chat("feature:menu", "great noodles"), headers=headers)
        assert plain.status_code == 400, plain.text
        error = plain.json()["error"]
        assert error["code"] == "invalid_request"
        assert "store" in error["message"] and "text" in error["message"]
        example = json.loads(error["hint"][error["hint"].index("{") : error["hint"].rindex("}") + 1])
        assert sorted(example) == ["store", "text"]
        assert "features.menu.chat_input" in error["hint"]

        # The JSON-object form the hint shows is the variables themselves.
        as_json = json.dumps({"store": "Mapo", "text": "great noodles"})
        answered = http.post("/v1/chat/completions", json=chat("feature:menu", as_json), headers=headers)
        assert answered.status_code == 200, answered.text
        assert answered.json()["choices"][0]["message"]["content"] == "Store Mapo says: great noodles"
