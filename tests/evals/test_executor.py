"""Executors without a cluster: the registry, the local default, and the errors `--executor ray` gives first."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from andon.errors import ConfigError
from andon.evals.dataset import load_dataset
from andon.evals.executors import ExecutorError, ExecutorSettings, build_executor, known_executors
from andon.evals.executors.base import CellJob, CellOutput, Executor
from andon.evals.executors.local import LocalExecutor
from andon.evals.model import Case
from andon.evals.runner import run_evaluation
from andon.versions.canonical import Version
from andon.workspace import Workspace

WORKSPACE = """\
name: executor-test
features:
  echo:
    dataset: cases.jsonl
    graders: [{type: label, path: decision}]
    versions:
      approve:
        python: rules:approve
"""


def write_workspace(root: Path) -> None:
    (root / "rules.py").write_text('def approve(variables):\n    return {"decision": "approve"}\n', encoding="utf-8")
    lines = [json.dumps({"id": f"c{i}", "vars": {"x": i}, "label": "approve"}) for i in range(5)]
    (root / "cases.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "andon.yaml").write_text(WORKSPACE, encoding="utf-8")


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again when the socket goes: nothing listens there


def andon(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANDON_LANG": "en"}
    return subprocess.run(
        [sys.executable, "-m", "andon", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


class Counting(Executor):
    """A local executor that counts what the runner asks of it."""

    name = "counting"

    def __init__(self) -> None:
        super().__init__()
        self.inner = LocalExecutor()
        self.calls: list[str] = []

    async def start(self, job: CellJob) -> None:
        self.calls.append(f"start {job.feature} {job.concurrency}")
        await self.inner.start(job)

    async def run(self, version: Version, case: Case, repeat: int) -> CellOutput:
        self.calls.append(f"run {case.id}")
        return await self.inner.run(version, case, repeat)

    async def close(self) -> None:
        self.calls.append("close")


def test_the_registry_has_local_and_ray_and_names_them_for_an_unknown_one() -> None:
    assert {"local", "ray"} <= set(known_executors())
    assert isinstance(build_executor("local"), LocalExecutor)
    with pytest.raises(ConfigError) as caught:
        build_executor("dask")
    assert "local" in str(caught.value) and "ray" in str(caught.value) and caught.value.where == "--executor"


def test_the_runner_sends_every_cell_through_its_executor_and_closes_it(tmp_path: Path) -> None:
    write_workspace(tmp_path)
    executor = Counting()
    with Workspace.open(tmp_path) as ws:

        async def main() -> str:
            outcome = await run_evaluation(
                ws, "echo", ws.sync_versions("echo"), load_dataset(Path("cases.jsonl"), ws.root), repeats=2,
                concurrency=3, executor=executor,
            )  # fmt: skip
            await ws.aclose_providers()
            return outcome.status

        assert asyncio.run(main()) == "finished"
        run = ws.store.list_runs("echo")[0]
        assert len(ws.store.done_cells(run.id)) == 10
    assert executor.calls[0] == "start echo 3" and executor.calls[-1] == "close"
    assert sorted(c for c in executor.calls if c.startswith("run")) == sorted(
        f"run c{i}" for i in range(5) for _ in "ab"
    )


def test_without_ray_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError, as when not installed
    with pytest.raises(ExecutorError) as caught:
        build_executor("ray", ExecutorSettings(address="127.0.0.1:6379"))
    assert "andon[ray]" in str(caught.value)


def test_an_unreachable_cluster_names_its_address_and_ray_start(tmp_path: Path) -> None:
    pytest.importorskip("ray", reason="the 'ray' extra is not installed")
    write_workspace(tmp_path)
    address = f"127.0.0.1:{closed_port()}"
    result = andon("eval", "echo", "--executor", "ray", "--address", address, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert address in result.stderr and "ray start --head" in result.stderr and "Traceback" not in result.stderr
    with Workspace.open(tmp_path) as ws:
        assert ws.store.list_runs("echo") == []  # refused before a run was recorded


def test_a_bad_address_and_an_address_for_the_local_executor_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ExecutorError) as caught:
        build_executor("ray", ExecutorSettings(address="no-port-here"))
    assert caught.value.where == "--address" or "andon[ray]" in str(caught.value)
    write_workspace(tmp_path)
    result = andon("eval", "echo", "--address", "127.0.0.1:6379", cwd=tmp_path)
    assert result.returncode == 2 and "--executor ray" in result.stderr and "Traceback" not in result.stderr
