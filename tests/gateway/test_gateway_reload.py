"""A running `andon serve` notices an edited andon.yaml (issue 16 item 15): valid edits are served without a
restart, calls in flight finish on the config they started with, and an invalid edit keeps the old config."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.support.gateway_server import RULES as ECHO_RULES
from tests.support.gateway_server import GatewayServer, promote_declared, workspace_config

from andon.gateway.types import Caller
from andon.store import Store

pytestmark = pytest.mark.timeout(300)

RULES = '''\
"""Rules of the reload test: ``wait`` holds its call until the file named by ``gate`` exists."""

import time
from pathlib import Path


def wait(variables):
    gate = Path(variables["gate"])
    (gate.parent / "started").write_text("1")
    deadline = time.monotonic() + 120
    while not gate.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return {"released": gate.exists()}
'''

SLOW = {"versions": {"v1": {"python": "reload_rules:wait"}}}
ADDED = {"versions": {"v1": {"python": "gw_rules:echo"}}}


def _write(folder: Path, features: dict[str, Any], gateway: dict[str, Any] | None = None) -> None:
    config = workspace_config(gateway={"auth": False, **(gateway or {})}, features=features)
    (folder / "andon.yaml").write_text(json.dumps(config, indent=2), encoding="utf-8")


def _until(check: Any, what: str, timeout_s: float = 60.0) -> Any:
    """Poll ``check`` until it returns something truthy (the reload is checked every ~2 s)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"gave up waiting for {what}")


def test_an_edited_andon_yaml_is_served_without_a_restart(tmp_path: Path) -> None:
    folder = tmp_path / "ws"
    folder.mkdir()
    (folder / "gw_rules.py").write_text(ECHO_RULES, encoding="utf-8")
    (folder / "reload_rules.py").write_text(RULES, encoding="utf-8")
    _write(folder, {"slow": SLOW})
    url = f"sqlite:///{tmp_path / 'andon.db'}"
    gate = tmp_path / "gate"
    with GatewayServer(folder, database_url=url) as server, httpx.Client(base_url=server.base_url, timeout=60) as http:
        assert http.post("/v1/features/added/invoke", json={}).status_code == 404

        # A call in flight on the first config ...
        slow: dict[str, httpx.Response] = {}

        def call_slow() -> None:
            with httpx.Client(base_url=server.base_url, timeout=120) as own:
                slow["response"] = own.post("/v1/features/slow/invoke", json={"variables": {"gate": str(gate)}})

        caller = threading.Thread(target=call_slow)
        caller.start()
        _until(lambda: (tmp_path / "started").exists(), "the slow call to start")

        # ... while andon.yaml drops `slow` and adds `added` (promoted as an operator would).
        _write(folder, {"slow": None, "added": ADDED})
        promote_declared(folder, url)
        added = _until(
            lambda: (
                (r := http.post("/v1/features/added/invoke", json={"variables": {"text": "hi"}})).status_code == 200
                and r
            ),
            "the new feature to be served",
        )
        assert added.json()["output_json"]["echo"] == "HI"
        assert http.post("/v1/features/slow/invoke", json={"variables": {"gate": str(gate)}}).status_code == 404
        ready = http.get("/readyz").json()
        assert ready["status"] == "ready" and ready["config"]["error"] is None

        gate.write_text("go")
        caller.join(timeout=120)
        finished = slow["response"]
        assert finished.status_code == 200, finished.text  # finished on the old config, its trace stored
        assert finished.json()["output_json"] == {"released": True}
        with Store.open(url) as store:
            assert store.get_trace(finished.json()["trace_id"])["status"] == "ok"

        # An invalid edit: the old config keeps serving, and /readyz names the file and line.
        broken = json.dumps(workspace_config(gateway={"auth": False, "bogus": 1}, features={"added": ADDED}), indent=2)
        (folder / "andon.yaml").write_text(broken, encoding="utf-8")
        line = next(n for n, text in enumerate(broken.splitlines(), 1) if "bogus" in text)
        error = _until(lambda: http.get("/readyz").json()["config"]["error"], "readyz to report the invalid edit")
        assert f"andon.yaml:{line}" in error["where"] and "bogus" in error["message"]
        assert http.get("/readyz").status_code == 200  # still serving: the last valid config
        assert http.post("/v1/features/added/invoke", json={"variables": {"text": "x"}}).status_code == 200
        assert any("bogus" in str(entry.get("msg", "")) for entry in server.log_lines())

        # Fixed again: the error clears.
        _write(folder, {"added": ADDED})
        _until(lambda: http.get("/readyz").json()["config"]["error"] is None, "readyz to clear the error")


async def test_an_edit_the_gateway_cannot_start_on_keeps_the_old_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from types import SimpleNamespace

    from andon.gateway.app import _default_gateway
    from andon.gateway.reload import ConfigReloader
    from andon.workspace import Workspace

    (tmp_path / "gw_rules.py").write_text(ECHO_RULES, encoding="utf-8")
    _write(tmp_path, {"added": ADDED})
    url = f"sqlite:///{tmp_path / 'andon.db'}"
    promote_declared(tmp_path, url)
    ws = Workspace.open(tmp_path, database_url=url)
    first = _default_gateway(ws)
    await first.start()
    state = SimpleNamespace(workspace=ws, gateway=first)
    reloader = ConfigReloader.starting(state, ws, first, _default_gateway)
    try:
        assert not await reloader.check()  # unchanged
        # Valid YAML, but serve.live names no version: the new gateway does not start, the old one serves.
        _write(tmp_path, {"added": {**ADDED, "serve": {"live": "v9"}}})
        assert not await reloader.check()
        assert state.gateway is first and reloader.error is not None
        assert reloader.status()["error"]["where"] == "features.added.serve.live"
        # A valid edit that also changes the port: swapped in, and the log says the port needs a restart.
        _write(tmp_path, {"added": ADDED, "more": ADDED}, gateway={"port": 9999})
        with caplog.at_level("WARNING", logger="andon.gateway"):
            assert await reloader.check()
        assert state.gateway is not first and "more" in state.workspace.config.features
        assert reloader.error is None and "gateway.port" in caplog.text
        assert (await state.gateway.invoke("added", {"text": "a"}, Caller())).output_json["echo"] == "A"
    finally:
        await reloader.stop()
        assert not first.ready()  # the replaced gateway was closed once it had no calls left
        await state.gateway.stop()
        await state.workspace.aclose_providers()
        ws.store.close()
