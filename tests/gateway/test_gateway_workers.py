"""Prometheus metrics across `andon serve --workers N`: every worker's counts in one `/metrics`, whichever answers.

Worker processes are real processes here (prometheus-client's multiprocess mode is chosen when it is first
imported, so it cannot be switched on inside the test process).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from tests.support.gateway_server import GatewayServer, write_workspace

from andon.gateway.metrics import MULTIPROC_ENV, GatewayMetrics, multiprocess_dir

pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).resolve().parents[2]

# One "worker": observe CALLS traces of feature FEATURE (status ok, or error for every third), optionally open
# a circuit, then exit (marking itself dead as `andon serve`'s workers do at exit).
WORKER = textwrap.dedent(
    """
    import sys
    from andon.gateway.metrics import GatewayMetrics, worker_exited
    from andon.store.models import utcnow
    from andon.store.records import TraceRecord

    feature, calls, circuit = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "open"
    metrics = GatewayMetrics()
    for i in range(calls):
        status = "error" if i % 3 == 2 else "ok"
        trace = TraceRecord(id=f"trc_{i}", feature=feature, route="ai", status=status, input_mode="full", input={},
                            input_hash="0" * 64, created_at=utcnow(), latency_ms=3.0, error_code="provider_error")
        metrics.observe(trace)
    metrics.set_circuit("stub", circuit)
    if sys.argv[4] == "dies":
        worker_exited()
    else:
        sys.stdout.write(metrics.render().decode())
    """
)


def run_worker(directory: Path, feature: str, calls: int, *, circuit: bool = False, stay: bool = False) -> str:
    env = {**os.environ, MULTIPROC_ENV: str(directory), "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)])}
    done = subprocess.run(
        [sys.executable, "-c", WORKER, feature, str(calls), "open" if circuit else "closed",
         "stays" if stay else "dies"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout


def samples(text: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """The samples called ``name`` in an exposition, by their sorted labels."""
    found: dict[tuple[tuple[str, str], ...], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def total(text: str, name: str, **labels: str) -> float:
    return sum(value for key, value in samples(text, name).items() if all((k, v) in key for k, v in labels.items()))


@pytest.mark.parametrize(("first", "second"), [(5, 7), (1, 0), (12, 3)])
def test_metrics_of_exited_and_live_workers_add_up(tmp_path: Path, first: int, second: int) -> None:
    directory = tmp_path / "metrics"
    directory.mkdir()
    run_worker(directory, "hello", first, circuit=True)  # exits: its counters stay, its open circuit goes
    shown = run_worker(directory, "hello", second, stay=True)  # renders while alive, as /metrics does
    calls = first + second
    errors = sum(1 for i in range(first) if i % 3 == 2) + sum(1 for i in range(second) if i % 3 == 2)
    assert total(shown, "andon_requests_total", feature="hello") == calls
    assert total(shown, "andon_requests_total", feature="hello", status="error") == errors
    assert total(shown, "andon_errors_total", feature="hello", code="provider_error") == errors
    assert total(shown, "andon_request_latency_seconds_count", feature="hello") == calls
    # The histogram's buckets are summed too: 3 ms falls in the 5 ms bucket and above, never in the 2.5 ms one.
    assert total(shown, "andon_request_latency_seconds_bucket", feature="hello", le="0.005") == calls
    assert total(shown, "andon_request_latency_seconds_bucket", feature="hello", le="0.0025") == 0
    # The live worker's circuit is closed and the dead one's open circuit is forgotten.
    assert total(shown, "andon_circuit_open", provider="stub") == 0


def test_one_process_keeps_its_metrics_in_memory() -> None:
    # The test process imported prometheus_client without the variable: nothing is read from or written to files.
    assert MULTIPROC_ENV not in os.environ or multiprocess_dir() is None
    metrics = GatewayMetrics()
    metrics.set_circuit("stub", True)
    assert total(metrics.render().decode(), "andon_circuit_open", provider="stub") == 1


def test_serve_with_two_workers_reports_every_call_on_every_scrape(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'andon.db'}"
    ws = write_workspace(tmp_path / "ws", gateway={"auth": False})
    calls = 16
    with GatewayServer(ws, database_url=url, workers=2) as server:
        for _ in range(calls):  # a fresh connection each: the kernel hands them to either worker
            response = httpx.post(f"{server.base_url}/v1/features/echo/invoke", json={}, timeout=30)
            assert response.status_code == 200, response.text
        scraped = [httpx.get(f"{server.base_url}/metrics", timeout=30) for _ in range(8)]
    for response in scraped:
        assert response.status_code == 200
        shown = samples(response.text, "andon_requests_total")
        assert total(response.text, "andon_requests_total", feature="echo") == calls, shown
