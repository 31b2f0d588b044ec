"""The evaluation runner end to end: real stub over loopback, real store, real subprocesses and signals."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from andon.store import Store

RULES = """
def review(variables):
    text = variables["description"]
    return {"decision": "reject" if "010" in text else "approve"}

def always_approve(variables):
    return {"decision": "approve"}
"""


REPLY = json.dumps({"decision": "approve"})


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def slow_stub() -> Iterator[str]:
    """An OpenAI-compatible stub in its own process, answering every call after 40 ms."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench.stub",
            "--port",
            str(port),
            "--delay-ms",
            "40",
            "--reply",
            '{"decision": "approve"}',
        ],
        cwd=Path(__file__).parents[2],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None and "listening" in process.stdout.readline()
    yield f"http://127.0.0.1:{port}/v1"
    process.terminate()
    process.wait(timeout=10)


def write_workspace(root: Path, *, n_cases: int, base_url: str = "http://127.0.0.1:9/v1", criteria: str = "") -> None:
    (root / "eval_rules.py").write_text(RULES, encoding="utf-8")
    with (root / "cases.jsonl").open("w", encoding="utf-8") as handle:
        for i in range(n_cases):
            bad = i % 3 == 0
            description = f"메뉴 {i} 문의 010-0000-{i:04d}" if bad else f"맛있는 메뉴 {i}"
            label = "reject" if bad else "approve"
            case = {"id": f"c{i:03d}", "vars": {"description": description}, "label": label}
            handle.write(json.dumps(case, ensure_ascii=False) + "\n")
    (root / "andon.yaml").write_text(
        textwrap.dedent(
            f"""\
            name: runner-test
            currency: KRW
            providers:
              stub:
                type: openai
                base_url: {base_url}
                api_key: sk-test
                model: stub-model
                max_retries: 0
            prices:
              - {{provider: stub, model: "*", input_per_1m: 100000, output_per_1m: 100000, currency: KRW}}
            features:
              menu-review:
                dataset: cases.jsonl
                graders:
                  - {{type: label, path: decision}}
                criteria: [{criteria}]
                versions:
                  naive:
                    python: eval_rules:always_approve
                  rules:
                    python: eval_rules:review
                  llm:
                    provider: stub
                    prompt: "{{{{ description }}}}"
                    params: {{json_mode: true}}
            """
        ),
        encoding="utf-8",
    )


def wait_for_cells(root: Path, count: int, timeout: float = 120) -> None:
    """Poll the store until the newest run has at least ``count`` stored cells."""
    deadline = time.monotonic() + timeout
    with Store.open(workspace=root) as store:
        while time.monotonic() < deadline:
            runs = store.list_runs("menu-review")
            if runs and len(store.done_cells(runs[0].id)) >= count:
                return
            time.sleep(0.1)
    raise AssertionError(f"no {count} cells stored within {timeout} s")


def andon(*args: str, cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANDON_LANG": "en"}
    return subprocess.run(
        [sys.executable, "-m", "andon", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_eval_compares_versions_and_the_gate_exit_codes(tmp_path: Path) -> None:
    write_workspace(tmp_path, n_cases=30, criteria='"accuracy >= 0.9"')
    result = andon("eval", "menu-review", "--versions", "naive,rules", "--gate", "--json", cwd=tmp_path)
    assert result.returncode == 1, result.stderr  # naive approves everything: accuracy 2/3 < 0.9
    report = json.loads(result.stdout)
    by_name = {s["version_name"]: s for s in report["summaries"]}
    assert by_name["naive"]["metrics"]["accuracy"]["value"] == pytest.approx(20 / 30)
    assert by_name["rules"]["metrics"]["accuracy"]["value"] == 1.0
    assert by_name["rules"]["gate_passed"] and not by_name["naive"]["gate_passed"]
    comparison = report["comparison"]
    assert comparison["verdict"] == "better" and comparison["mcnemar_c"] == 10 and comparison["mcnemar_b"] == 0
    assert {f["case_id"] for f in comparison["flipped"]} == {f"c{i:03d}" for i in range(0, 30, 3)}
    junit = (tmp_path / "andon-junit.xml").read_text()
    assert "accuracy &gt;= 0.9" in junit or "accuracy >= 0.9" in junit
    assert (tmp_path / "andon-summary.md").read_text().strip()

    only_rules = andon("eval", "menu-review", "--versions", "rules", "--gate", cwd=tmp_path)
    assert only_rules.returncode == 0, only_rules.stderr


def test_gate_exits_2_on_configuration_errors(tmp_path: Path) -> None:
    write_workspace(tmp_path, n_cases=3, criteria='"acuracy >= 0.9"')
    result = andon("eval", "menu-review", "--gate", cwd=tmp_path)
    assert result.returncode == 2 and "did you mean 'accuracy'" in result.stderr and "Traceback" not in result.stderr
    write_workspace(tmp_path, n_cases=3)
    (tmp_path / "cases.jsonl").write_text('{"id": "a", "vars": {}}\n{"id": "a", "vars": {}}\n')
    result = andon("eval", "menu-review", "--gate", cwd=tmp_path)
    assert result.returncode == 2 and "cases.jsonl:2" in result.stderr and "used twice" in result.stderr


def test_a_killed_run_resumes_without_redoing_finished_cells(tmp_path: Path, slow_stub: str) -> None:
    write_workspace(tmp_path, n_cases=150, base_url=slow_stub)
    env = {**os.environ, "ANDON_LANG": "en"}
    process = subprocess.Popen(
        [sys.executable, "-m", "andon", "eval", "menu-review", "--versions", "llm", "-c", "2", "--json"],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    store = Store.open(workspace=tmp_path)
    try:
        wait_for_cells(tmp_path, 10)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        run = store.list_runs("menu-review")[0]
        before = store.done_cells(run.id)
        assert 10 <= len(before) < 150 and run.status == "running"
    finally:
        store.close()

    resumed = andon("eval", "--resume", run.id[:12], "--json", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr
    with Store.open(workspace=tmp_path) as store:
        after = store.done_cells(run.id)
        assert len(after) == 150 and before <= after
        assert store.get_run(run.id).status == "finished"
        outputs = [row["output_id"] for row in store.iter_run_results(run.id)]
        assert len(outputs) == len(set(outputs)) == 150
    # Cells finished before the kill were answered from the store, not the provider: their output ids stand.
    report = json.loads(resumed.stdout)
    assert report["run"]["id"] == run.id and report["summaries"][0]["n_cells"] == 150


def test_ctrl_c_stops_cleanly_and_keeps_what_is_done(tmp_path: Path, slow_stub: str) -> None:
    write_workspace(tmp_path, n_cases=400, base_url=slow_stub)
    env = {**os.environ, "ANDON_LANG": "en"}
    process = subprocess.Popen(
        [sys.executable, "-m", "andon", "eval", "menu-review", "--versions", "llm", "-c", "2"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    wait_for_cells(tmp_path, 10)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert "andon eval --resume" in err and "Traceback" not in err
    with Store.open(workspace=tmp_path) as store:
        run = store.list_runs("menu-review")[0]
        assert run.status == "interrupted"
        assert 0 < len(store.done_cells(run.id)) < 400


def test_budget_stops_the_run(tmp_path: Path, slow_stub: str) -> None:
    write_workspace(tmp_path, n_cases=100, base_url=slow_stub)
    result = andon("eval", "menu-review", "--versions", "llm", "--budget", "20 KRW", "-c", "4", cwd=tmp_path)
    assert "budget" in result.stderr and "--resume" in result.stderr
    with Store.open(workspace=tmp_path) as store:
        run = store.list_runs("menu-review")[0]
        assert run.status == "budget_exceeded"
        assert len(store.done_cells(run.id)) < 100


def test_report_and_compare_commands(tmp_path: Path) -> None:
    write_workspace(tmp_path, n_cases=12, criteria='"accuracy >= 0.9"')
    assert andon("eval", "menu-review", "--versions", "naive,rules", cwd=tmp_path).returncode == 0
    html, csv_file = tmp_path / "r.html", tmp_path / "r.csv"
    result = andon("report", "latest", "--html", str(html), "--csv", str(csv_file), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "<html" in html.read_text() and "c000" in html.read_text()
    assert len(csv_file.read_text().strip().splitlines()) == 1 + 24
    compared = andon("compare", "naive", "rules", "--json", cwd=tmp_path)
    assert compared.returncode == 0, compared.stderr
    assert json.loads(compared.stdout)["verdict"] in ("better", "no detectable difference")
