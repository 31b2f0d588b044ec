"""A whole chat history on a ``feature:`` model through the official `openai` client, streaming included."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from sqlalchemy import select
from tests.support.gateway_server import GatewayServer, write_workspace
from tests.support.threaded_stub import ThreadedStub

from andon.gateway.auth import create_key
from andon.store import Store
from andon.store.db import DATABASE_URL_ENV
from andon.store.models import TraceRow

pytestmark = pytest.mark.timeout(300)

PNG = "data:image/png;base64,iVBORw0KGgo="
SUPPORT = {
    "versions": {"v1": {"provider": "stub", "system": "You are the support desk.", "messages": "{{ history }}"}},
    "serve": {"data_use": {"inputs": "full"}},
}
HISTORY: list[dict[str, Any]] = [
    {"role": "system", "content": "Answer briefly."},
    {"role": "user", "content": "my parcel is late", "name": "minji"},
    {"role": "assistant", "content": "Which order?"},
    {
        "role": "user",
        "content": [{"type": "text", "text": "this one"}, {"type": "image_url", "image_url": {"url": PNG}}],
    },
]


@pytest.fixture
def served(tmp_path: Path, database_url: str) -> Iterator[tuple[openai.OpenAI, ThreadedStub, str, Path]]:
    url = database_url
    with Store.open(url) as store:
        _record, secret = create_key(store, "chat-app", ["invoke"], None)
    with ThreadedStub(echo=True) as stub:
        ws = write_workspace(tmp_path / "ws", stub_url=stub.base_url, features={"support": SUPPORT})
        with GatewayServer(ws, database_url=url) as server:
            http = openai.OpenAI(base_url=f"{server.base_url}/v1", api_key=secret, max_retries=0, timeout=60)
            yield http, stub, url, ws
            http.close()


def trace(url: str, trace_id: str) -> TraceRow:
    with Store.open(url) as store, store.engine.connect() as conn:
        row: TraceRow = conn.execute(select(TraceRow).where(TraceRow.id == trace_id)).one()
    return row


def sent_roles_and_texts(body: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for m in body["messages"]:
        content = m["content"]
        text = content if isinstance(content, str) else "".join(p.get("text", "") for p in content)
        out.append((m["role"], text))
    return out


def test_the_whole_history_reaches_the_model_and_the_trace(
    served: tuple[openai.OpenAI, ThreadedStub, str, Path],
) -> None:
    http, stub, url, workspace = served
    raw = http.chat.completions.with_raw_response.create(
        model="feature:support",
        messages=HISTORY,
        extra_headers={"x-andon-session-id": "conv-1"},  # type: ignore[arg-type]
    )
    completion = raw.parse()
    assert (completion.choices[0].message.content or "").strip() == "this one"  # the stub echoes the last turn
    (request,) = stub.received
    assert sent_roles_and_texts(request.body) == [
        ("system", "You are the support desk."),
        ("system", "Answer briefly."),
        ("user", "my parcel is late"),
        ("assistant", "Which order?"),
        ("user", "this one"),
    ]
    image = request.body["messages"][-1]["content"][1]
    assert image["image_url"]["url"] == PNG
    row = trace(url, raw.headers["x-andon-trace-id"])
    assert (row.status, row.session_id) == ("ok", "conv-1")
    assert row.input["history"] == HISTORY  # exactly as sent, the name included

    # The next turn of the same session: a second trace grouped under the same session id.
    longer = [*HISTORY, {"role": "assistant", "content": "It ships today."}, {"role": "user", "content": "thanks"}]
    stream = http.chat.completions.create(
        model="feature:support",
        messages=longer,  # type: ignore[arg-type]
        stream=True,
        extra_headers={"x-andon-session-id": "conv-1"},
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "thanks"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert len(stub.received[1].body["messages"]) == 7
    with Store.open(url) as store, store.engine.connect() as conn:
        rows = conn.execute(select(TraceRow).where(TraceRow.session_id == "conv-1")).all()
    assert len(rows) == 2

    # Each trace is stored with its spans: the call, and the model call under it, named by GenAI conventions.
    first = raw.headers["x-andon-trace-id"]
    with Store.open(url) as store:
        spans = store.list_spans(first)
    root, model = spans
    assert (root.kind, root.parent_id, model.kind, model.parent_id) == ("call", None, "model", root.id)
    assert model.attributes["gen_ai.request.model"] == "stub-model"
    assert model.attributes["gen_ai.conversation.id"] == "conv-1"
    assert (model.input_tokens, model.output_tokens) == (row.input_tokens, row.output_tokens)
    shown = subprocess.run(
        [sys.executable, "-m", "andon", "--workspace", str(workspace), "traces", "show", first],
        env={**os.environ, DATABASE_URL_ENV: url, "ANDON_LANG": "en", "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shown.returncode == 0, shown.stderr
    tree = shown.stdout[shown.stdout.index("Spans") :].splitlines()
    assert tree[1].startswith("invoke_agent support  [call]  ok")
    assert tree[2].startswith("  └─ chat stub-model  [model]  ok")


def test_a_history_the_step_cannot_take_is_an_error_naming_the_message(
    served: tuple[openai.OpenAI, ThreadedStub, str, Path],
) -> None:
    http, stub, _url, _ws = served
    with pytest.raises(openai.APIStatusError) as bad:
        http.chat.completions.create(
            model="feature:support",
            messages=[
                {"role": "user", "content": [{"type": "input_audio", "input_audio": {"data": "", "format": "wav"}}]}
            ],  # type: ignore[list-item]
        )
    assert bad.value.status_code == 400
    assert "message 0 of 'history': part type 'input_audio'" in json.dumps(bad.value.body)
    assert stub.received == []  # refused before any model call


def test_an_image_path_in_a_callers_history_is_refused_not_read_from_the_servers_disk(
    served: tuple[openai.OpenAI, ThreadedStub, str, Path], tmp_path: Path
) -> None:
    http, stub, _url, _workspace = served
    secret = tmp_path / "server-only.png"
    secret.write_bytes(b"\x89PNG\r\n\x1a\n" + b"private bytes")
    for path in (str(secret), "server-only.png", "file:///etc/hostname"):
        turn = {
            "role": "user",
            "content": [{"type": "text", "text": "see"}, {"type": "image_url", "image_url": {"url": path}}],
        }
        with pytest.raises(openai.BadRequestError) as refused:
            http.chat.completions.create(model="feature:support", messages=[*HISTORY[:3], turn])  # type: ignore[list-item]
        assert "history[3].content[1]" in str(refused.value) and "data:image" in str(refused.value)
    assert stub.received == []  # nothing reached the model
