"""Run the real gateway (`andon serve`) in a subprocess on a free loopback port; reusable by any test or bench.

    ws = write_workspace(tmp_path, stub_url=stub.base_url)
    with GatewayServer(ws, database_url=url) as server:
        httpx.post(f"{server.base_url}/v1/features/echo/invoke", ...)

``StubProcess`` runs bench/stub.py (an OpenAI-compatible stub) the same way, for provider models.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx

from andon.store.db import DATABASE_URL_ENV

ROOT = Path(__file__).resolve().parents[2]
STUB_SCRIPT = ROOT / "bench" / "stub.py"

# Functions of the `python` provider used by the test features; written into the workspace as gw_rules.py.
RULES = '''\
"""Rule functions of the gateway test workspace."""


def echo(variables):
    """Answer with the names of the variables sent, and their text upper-cased."""
    text = str(variables.get("text", variables.get("input", "")))
    return {"echo": text.upper(), "variables": sorted(k for k in variables if k != "steps")}


def fail(variables):
    """Always fail, as a broken provider would."""
    raise RuntimeError("the rule broke on purpose")
'''


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def workspace_config(
    *,
    stub_url: str | None = None,
    gateway: Mapping[str, Any] | None = None,
    features: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An andon.yaml (as a dict): features ``echo`` and ``broken`` (python rules), ``chat`` on the stub if given.

    ``features`` adds or replaces features (a None value removes one); ``gateway`` sets gateway options.
    """
    providers: dict[str, Any] = {}
    all_features: dict[str, Any] = {
        "echo": {
            "description": "Echo the variables (a python rule; needs no model).",
            "versions": {"v1": {"python": "gw_rules:echo"}},
            "serve": {"data_use": {"inputs": "full"}},
        },
        "broken": {"versions": {"v1": {"python": "gw_rules:fail"}}, "serve": {"routing": {"fallback": "off"}}},
    }
    if stub_url is not None:
        providers["stub"] = {
            "type": "openai",
            "base_url": stub_url,
            "api_key": "sk-stub",
            "model": "stub-model",
            "max_retries": 0,
        }
        all_features["chat"] = {"versions": {"v1": {"provider": "stub", "prompt": "{{ input }}"}}}
    all_features.update(features or {})
    all_features = {name: spec for name, spec in all_features.items() if spec is not None}  # None removes one
    return {
        "andon": 1,
        "name": "gateway-test",
        "providers": providers,
        "features": all_features,
        "gateway": {"max_request_bytes": 64 * 1024, **(gateway or {})},
    }


def write_workspace(folder: Path, **options: Any) -> Path:
    """Write andon.yaml (JSON is YAML) and gw_rules.py into ``folder``; options as for ``workspace_config``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "andon.yaml").write_text(json.dumps(workspace_config(**options), indent=2), encoding="utf-8")
    (folder / "gw_rules.py").write_text(RULES, encoding="utf-8")
    return folder


def promote_declared(workspace: Path, database_url: str | None = None) -> None:
    """Make each feature's ``serve.live`` (else its last declared version) live, as an operator would before serving.

    Nothing is live until promoted; these test workspaces are never evaluated, so the promotion is forced
    (recorded with a reason). A feature that has something live already is left alone.
    """
    from andon.deploy import live_version, promote
    from andon.workspace import Workspace

    with Workspace.open(workspace, database_url=database_url) as ws:
        for name, feature in ws.config.features.items():
            if not feature.versions or live_version(ws, name).version_id is not None:
                continue
            ref = feature.serve.live or list(feature.versions)[-1]
            promote(ws, name, ref, force=True, actor="tests", reason="test workspace: served without an evaluation")


def _env(database_url: str | None, extra: Mapping[str, str] | None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop(DATABASE_URL_ENV, None)
    env.pop("ANDON_WORKSPACE", None)  # it would win over --workspace
    if database_url is not None:
        env[DATABASE_URL_ENV] = database_url
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


class GatewayServer:
    """``andon serve`` on 127.0.0.1 in a subprocess; its log (stderr and stdout) goes to ``log_path``."""

    def __init__(
        self,
        workspace: Path,
        *,
        database_url: str | None = None,
        workers: int = 1,
        log_json: bool = True,
        env: Mapping[str, str] | None = None,
        extra_args: Sequence[str] = (),
        startup_timeout_s: float = 90.0,
        promote: bool = True,
    ) -> None:
        self.workspace = workspace
        self.database_url = database_url
        self.workers = workers
        self.log_json = log_json
        self.env = _env(database_url, env)
        self.extra_args = list(extra_args)
        self.startup_timeout_s = startup_timeout_s
        self.promote = promote  # force-promote what has nothing live before starting (see promote_declared)
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = workspace / f"gateway-{id(self)}.log"

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        """The server's process id."""
        assert self.process is not None, "not started"
        return self.process.pid

    def command(self) -> list[str]:
        """The command line that starts the server."""
        args = [sys.executable, "-m", "andon", "--workspace", str(self.workspace), "serve"]
        args += ["--host", "127.0.0.1", "--port", str(self.port), "--workers", str(self.workers)]
        if self.log_json:
            args.append("--log-json")
        return args + self.extra_args

    def start(self) -> Self:
        """Start and wait until ``/healthz`` answers; retries on a port taken in between."""
        if self.promote:
            promote_declared(self.workspace, self.database_url)
        for _attempt in range(3):
            self.port = free_port()
            with self.log_path.open("ab") as log:
                # A session of its own, so kill() takes the worker processes down with the server.
                self.process = subprocess.Popen(
                    self.command(),
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    env=self.env,
                    cwd=self.workspace,
                    start_new_session=True,
                )
            if self._wait_healthy():
                return self
            if "address already in use" not in self.logs().lower():
                break
        raise RuntimeError(f"the gateway did not start; its log:\n{self.logs()[-4000:]}")

    def _wait_healthy(self) -> bool:
        deadline = time.monotonic() + self.startup_timeout_s
        assert self.process is not None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                return False
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1.0).status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.kill()
        return False

    def logs(self) -> str:
        """Everything the server printed so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def log_lines(self) -> list[dict[str, Any]]:
        """The JSON log lines (with ``--log-json``); other lines are skipped."""
        out = []
        for line in self.logs().splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict):
                out.append(entry)
        return out

    def kill(self) -> None:
        """SIGKILL the server and its worker processes at once: no shutdown code runs."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def stop(self) -> None:
        """Stop gracefully (SIGTERM), killing after 20 s."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


class StubProcess:
    """bench/stub.py (OpenAI-compatible) on a free loopback port in a subprocess."""

    def __init__(self, *, echo: bool = True, reply: str | None = None, delay_ms: float = 0.0) -> None:
        self.args = [sys.executable, str(STUB_SCRIPT), "--port", "0", "--delay-ms", str(delay_ms)]
        if echo:
            self.args.append("--echo")
        if reply is not None:
            self.args += ["--reply", reply]
        self.process: subprocess.Popen[str] | None = None
        self.base_url = ""

    def __enter__(self) -> Self:
        self.process = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if "listening on" not in line:
            self.process.kill()
            raise RuntimeError(f"the stub did not start: {line!r}")
        self.base_url = line.rsplit(" ", 1)[-1].strip()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
