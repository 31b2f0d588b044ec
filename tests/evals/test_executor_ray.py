"""The Ray executor on a real local cluster (started here on loopback): same cells, summary and resume as local."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("ray", reason="the 'ray' extra is not installed")

from andon.evals.dataset import load_dataset
from andon.evals.executors import Executor, build_executor
from andon.evals.executors.base import CellJob, CellOutput, ExecutorSettings
from andon.evals.executors.local import LocalExecutor
from andon.evals.model import Case
from andon.evals.runner import run_evaluation
from andon.versions.canonical import Version
from andon.workspace import Workspace

REPO = Path(__file__).resolve().parents[2]
START_SECONDS = 90

RULES = """
import os, time

def _seen():
    with open(os.path.join(os.path.dirname(__file__), "pids.txt"), "a") as handle:
        handle.write(f"{os.getpid()}\\n")

def review(variables):
    _seen()
    time.sleep(0.05)
    text = variables["description"]
    return {"decision": "reject" if "010" in text else "approve"}

def always_approve(variables):
    _seen()
    time.sleep(0.05)
    return {"decision": "approve"}
"""


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A two-CPU Ray head on 127.0.0.1 for this module, its workers able to import this andon."""
    port = free_port()
    temp_dir = tempfile.mkdtemp(prefix="andon-ray-", dir="/tmp")  # short: Ray's socket paths have a length limit
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO / "src"), str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    command = [
        str(Path(sys.executable).with_name("ray")), "start", "--head", "--block", f"--port={port}",
        "--node-ip-address=127.0.0.1", "--num-cpus=2", "--include-dashboard=false", "--disable-usage-stats",
        f"--temp-dir={temp_dir}",
    ]  # fmt: skip
    # Its own session: the head and every process it starts share one group, ended below by that id.
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    started = threading.Event()
    lines: list[str] = []

    def watch() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if "Ray runtime started" in line:
                started.set()

    threading.Thread(target=watch, daemon=True).start()
    try:
        if not started.wait(START_SECONDS):
            raise AssertionError("ray start did not finish:\n" + "".join(lines[-30:]))
        yield f"127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)  # `ray start --block` stops the cluster it started
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=30)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # anything of that group still running
        process.wait(timeout=10)
        shutil.rmtree(temp_dir, ignore_errors=True)


def write_workspace(root: Path, n_cases: int = 6) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "eval_rules.py").write_text(RULES, encoding="utf-8")
    with (root / "cases.jsonl").open("w", encoding="utf-8") as handle:
        for i in range(n_cases):
            bad = i % 3 == 0
            description = f"메뉴 {i} 문의 010-0000-{i:04d}" if bad else f"맛있는 메뉴 {i}"
            case = {"id": f"c{i:03d}", "vars": {"description": description}, "label": "reject" if bad else "approve"}
            handle.write(json.dumps(case, ensure_ascii=False) + "\n")
    (root / "andon.yaml").write_text(
        textwrap.dedent(
            """\
            name: ray-test
            currency: KRW
            features:
              menu-review:
                dataset: cases.jsonl
                graders:
                  - {type: label, path: decision}
                  - {type: contains, value: approve, weight: 0}
                criteria: ["accuracy >= 0.5"]
                versions:
                  naive:
                    python: eval_rules:always_approve
                  rules:
                    python: eval_rules:review
            """
        ),
        encoding="utf-8",
    )


def cells(ws: Workspace, run_id: str) -> dict[tuple[str, str, int], tuple[Any, ...]]:
    """Each cell's graded result, by (version, case, repeat), without ids and timings."""
    return {
        (row["version_name"], row["case_id"], row["repeat"]): (
            row["status"], row["score"], row["passed"], row["output_json"], row["predicted_label"],
            row["expected_label"], row["error"],
        )
        for row in ws.store.iter_run_results(run_id)
    }  # fmt: skip


class StopAfter(Executor):
    """Passes cells to ``inner`` and asks the run to stop (as Ctrl-C does) when the ``after``-th one starts."""

    name = "stop-after"

    def __init__(self, inner: Executor, after: int, stop: asyncio.Event) -> None:
        super().__init__()
        self.inner, self.after, self.stop, self.started = inner, after, stop, 0

    async def start(self, job: CellJob) -> None:
        await self.inner.start(job)

    async def run(self, version: Version, case: Case, repeat: int) -> CellOutput:
        self.started += 1
        if self.started >= self.after:
            self.stop.set()  # the cells in flight finish and are stored; no new one starts
        return await self.inner.run(version, case, repeat)

    async def close(self) -> None:
        await self.inner.close()


def evaluate(
    ws: Workspace, executor: Executor, *, run_id: str | None = None, stop_after: int | None = None
) -> tuple[str, str]:
    """Run (or resume) menu-review on ``executor``; with ``stop_after``, stop once that many cells have started."""
    stop = asyncio.Event()
    runs_on = executor if stop_after is None else StopAfter(executor, stop_after, stop)

    async def main() -> tuple[str, str]:
        try:
            outcome = await run_evaluation(
                ws, "menu-review", ws.sync_versions("menu-review"), load_dataset(Path("cases.jsonl"), ws.root),
                repeats=1, concurrency=4, run_id=run_id, stop=stop, executor=runs_on,
            )  # fmt: skip
        finally:
            await ws.aclose_providers()
        return outcome.run_id, outcome.status

    return asyncio.run(main())


def andon(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANDON_LANG": "en"}
    return subprocess.run(
        [sys.executable, "-m", "andon", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_eval_on_ray_gives_the_local_cells_and_summary_spread_over_workers(tmp_path: Path, cluster: str) -> None:
    local_root, ray_root = tmp_path / "local", tmp_path / "ray"
    write_workspace(local_root)
    write_workspace(ray_root)
    local = andon("eval", "menu-review", "--json", cwd=local_root)
    on_ray = andon("eval", "menu-review", "--json", "--executor", "ray", "--address", cluster, cwd=ray_root)
    assert local.returncode == 0, local.stderr
    assert on_ray.returncode == 0, on_ray.stderr
    local_report, ray_report = json.loads(local.stdout), json.loads(on_ray.stdout)

    def summaries(report: dict[str, Any]) -> dict[str, Any]:
        # Every metric but the timings, which no two runs share.
        return {
            s["version_name"]: (
                s["n_cells"],
                {k: v for k, v in s["metrics"].items() if "latency" not in k},
                s["gate_passed"],
            )
            for s in report["summaries"]
        }

    assert summaries(ray_report) == summaries(local_report)
    assert summaries(ray_report)["rules"][1]["accuracy"]["value"] == 1.0
    assert summaries(ray_report)["naive"][1]["accuracy"]["value"] == pytest.approx(4 / 6)
    assert ray_report["comparison"]["verdict"] == local_report["comparison"]["verdict"]
    with Workspace.open(local_root) as lws, Workspace.open(ray_root) as rws:
        local_cells = cells(lws, local_report["run"]["id"])
        assert cells(rws, ray_report["run"]["id"]) == local_cells and len(local_cells) == 12
    # The cells ran in Ray's worker processes, both of them, never in the CLI's own.
    ray_pids = set((ray_root / "pids.txt").read_text().split())
    assert len(ray_pids) == 2 and not ray_pids & set((local_root / "pids.txt").read_text().split())


@pytest.mark.parametrize("resume_on", ["local", "ray"])
def test_an_interrupted_ray_run_resumes_to_the_same_end(
    tmp_path: Path, cluster: str, database_url: str, resume_on: str
) -> None:
    write_workspace(tmp_path / "reference")
    with Workspace.open(tmp_path / "reference") as ref:
        reference_id, status = evaluate(ref, LocalExecutor())
        assert status == "finished"
        expected = cells(ref, reference_id)

    write_workspace(tmp_path / "run")
    with Workspace.open(tmp_path / "run", database_url=database_url) as ws:
        run_id, status = evaluate(ws, build_executor("ray", ExecutorSettings(address=cluster)), stop_after=3)
        stored = ws.store.done_cells(run_id)
        assert status == "interrupted" and 3 <= len(stored) <= 6  # at most the 3 + 3 other workers' cells
        again = LocalExecutor() if resume_on == "local" else build_executor("ray", ExecutorSettings(address=cluster))
        _, status = evaluate(ws, again, run_id=run_id)
        assert status == "finished" and ws.store.get_run(run_id).status == "finished"
        assert cells(ws, run_id) == expected
        outputs = [row["output_id"] for row in ws.store.iter_run_results(run_id)]
        assert len(outputs) == len(set(outputs)) == 12  # nothing stored twice: one writer, resume skipped what was done
