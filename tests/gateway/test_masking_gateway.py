"""Masking before the provider, end to end: the real gateway on loopback, the OpenAI-compatible stub behind it.

The stub echoes the last message it receives, so its requests show what left andon and its answers show
what the placeholders are restored to.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest
from bench.stub import StubServer
from tests.support.gateway_server import GatewayServer, write_workspace

from andon.citation import citation_markdown
from andon.store import Store

pytestmark = pytest.mark.timeout(300)

RAW = {"phone": "010-1234-5678", "email": "kim@example.com", "rrn": "900101-1234567", "card": "4111 1111 1111 1111"}
TEXT = (
    f"제 번호는 {RAW['phone']}이고 메일은 {RAW['email']}입니다. 주민번호 {RAW['rrn']}, "
    f"카드 {RAW['card']}. 다시 한 번 {RAW['phone']}. 양식의 [PHONE_1] 칸은 비워 두세요."
)


def _workspace(tmp_path: Path, stub_url: str) -> Path:
    def chat(data_use: dict[str, Any]) -> dict[str, Any]:
        return {
            "chat_input": "input",
            "versions": {"v1": {"provider": "stub", "system": "상담원입니다.", "prompt": "{{ input }}"}},
            "serve": {"data_use": data_use},
        }

    features = {
        "masked": chat({"send": "masked"}),  # inputs: the default (redacted)
        "masked-kept": chat({"send": "masked", "restore": False}),
        "plain": chat({"inputs": "full"}),  # send: the default (full), as before
    }
    return write_workspace(tmp_path / "ws", stub_url=stub_url, gateway={"auth": False}, features=features)


def _sent(stub: StubServer) -> str:
    return "\n".join(json.dumps(r.body, ensure_ascii=False) for r in stub.received)


def _database_text(path: Path) -> str:
    """Every value of every table of the SQLite store, as one text to search."""
    with sqlite3.connect(path) as db:
        tables = [row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return "\n".join(repr(row) for table in tables for row in db.execute(f'SELECT * FROM "{table}"'))


async def test_the_provider_never_receives_raw_values_and_the_answer_gets_them_back(tmp_path: Path) -> None:
    db, plain_db = tmp_path / "andon.db", tmp_path / "plain.db"
    async with StubServer(echo=True) as stub:
        ws = _workspace(tmp_path, stub.base_url)
        with GatewayServer(ws, database_url=f"sqlite:///{db}") as server:
            async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as http:
                restored = await http.post("/v1/features/masked/invoke", json={"variables": {"input": TEXT}})
                kept = await http.post("/v1/features/masked-kept/invoke", json={"variables": {"input": TEXT}})
                chat = await http.post(
                    "/v1/chat/completions",
                    json={"model": "feature:masked", "messages": [{"role": "user", "content": TEXT}]},
                )
        assert restored.status_code == kept.status_code == chat.status_code == 200, restored.text
        sent = _sent(stub)
        assert len(stub.received) == 3
        for value in RAW.values():
            assert value not in sent
        expected = (
            "제 번호는 [PHONE_2]이고 메일은 [EMAIL_1]입니다. 주민번호 [RRN_1], 카드 [CARD_1]. "
            "다시 한 번 [PHONE_2]. 양식의 [PHONE_1] 칸은 비워 두세요."
        )  # the user's own "[PHONE_1]" is reserved, so the phone became [PHONE_2], twice
        assert stub.received[0].body["messages"][-1]["content"] == expected
        assert restored.json()["output_text"] == TEXT  # the echo, restored: the user's literal stays as typed
        assert kept.json()["output_text"] == expected  # restore: false answers with the placeholders
        assert chat.json()["choices"][0]["message"]["content"] == TEXT

        # Without send: masked the feature sends what it always sent (a store of its own, searched below).
        stub.reset()
        with GatewayServer(ws, database_url=f"sqlite:///{plain_db}") as server:
            async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as http:
                plain = await http.post("/v1/features/plain/invoke", json={"variables": {"input": TEXT}})
        assert plain.status_code == 200 and RAW["phone"] in _sent(stub)

    with Store.open(f"sqlite:///{db}") as store:
        trace = store.get_trace(restored.json()["trace_id"])
        output = store.get_output(trace["output_id"])
        assert output.messages[-1]["content"][0]["text"] == expected  # provenance: what was actually sent
        (step,) = output.steps
        assert step["masking"] == {
            "send": "masked",
            "restore": True,
            "placeholders": {"PHONE": 1, "EMAIL": 1, "RRN": 1, "CARD": 1},
        }
        assert "CARD × 1, EMAIL × 1, PHONE × 1, RRN × 1" in citation_markdown(output, "en")
    # The masked features store inputs redacted: no raw value anywhere in their store; the plain one keeps them.
    masked_store, plain_store = _database_text(db), _database_text(plain_db)
    for value in RAW.values():
        assert value not in masked_store and value in plain_store, value
