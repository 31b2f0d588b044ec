"""What a gateway adds in front of a model: andon's (`andon serve`) beside the LiteLLM proxy, in one run.

Both sit in front of the same loopback stub (bench/stub.py, answering at once). For each target:

- added latency: p50/p90/p99 of sequential calls (concurrency 1) minus the same for calling the stub directly;
- the highest request rate held: open-loop arrivals at a fixed rate for a few seconds, ramped ×1.5 and then
  bisected; a rate is *held* when every call answers 2xx, completions keep pace (≥ 97 % of the offered
  rate), the p99 stays under a second, and the load generator itself kept to its schedule.

andon runs as a user would: `andon serve` with auth on and an API key, durable traces (a 2xx means the
trace is committed) in the workspace's SQLite store (or PostgreSQL with ``--andon-database``); the bench
counts the stored traces afterwards. LiteLLM 1.106.2 runs from its own venv (never the project's: see
``--litellm-venv``) with a 64-hex master key and no database, as /work/shared/design/PEERS.md describes.

The load generator is ours, in a separate process, loopback only, bounded in count and time: asyncio with
pre-encoded HTTP/1.1 requests over keep-alive streams (``--client raw``, the default), or httpx
(``--client httpx``), which costs about ten times the CPU per call and caps the generator near 300 req/s
on a busy 2-core machine. ``--client wrk`` uses wrk instead (``bench/wrk.py``; Debian package ``wrk``): C,
closed loop, a few µs per call, so it can drive well over 1,000 req/s here. Its latency runs use one connection
and its throughput runs each of ``--wrk-connections`` (the "max held" column is then the best closed-loop rate
with no errors and p99 ≤ 1 s). ``--stub nginx`` puts nginx answering one fixed JSON body in place of
bench/stub.py, so the direct-to-stub figure is little more than the loopback round trip.
Run from the project root: ``.venv/bin/python -m bench.gateway`` (``--help`` for sizes).
Results go to the terminal and to ``bench/out/gateway.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out" / "gateway.json"
STUB = ROOT / "bench" / "stub.py"
MODEL = "stub-model"
PROMPT = "Say hi to the bench."
HELD_PACE = 0.97  # completions per second must reach this share of the offered rate
HELD_P99_MS = 1000.0
LAG_LIMIT_MS = 50.0  # the generator's own send lag (p99) above which a step says nothing about the server
LITELLM_ENV = {
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_LOCAL_BLOG_POSTS": "True",
    "LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS": "True",
    "LITELLM_LOCAL_POLICY_TEMPLATES": "True",
    "LITELLM_LOCAL_AUTOROUTER_PRESETS": "True",
    "LITELLM_LOG": "ERROR",
    "DISABLE_ADMIN_UI": "True",
    "NO_DOCS": "True",
    "NO_REDOC": "True",
}


# --- the load generator (runs in its own process) ----------------------------------------------------------


def _percentile(ordered: list[float], q: float) -> float:
    if not ordered:
        return math.nan
    rank = q * (len(ordered) - 1)
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _latency_summary(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    return {
        "p50_ms": round(_percentile(ordered, 0.5), 3),
        "p90_ms": round(_percentile(ordered, 0.9), 3),
        "p99_ms": round(_percentile(ordered, 0.99), 3),
        "max_ms": round(ordered[-1], 3) if ordered else math.nan,
    }


class HttpxPoster:
    """POSTs one fixed request with httpx (a pool of up to ``limit`` keep-alive connections)."""

    def __init__(self, url: str, headers: dict[str, str], body: bytes, limit: int, timeout_s: float) -> None:
        import httpx

        self._httpx = httpx
        self._url, self._headers, self._body = url, headers, body
        limits = httpx.Limits(max_connections=limit, max_keepalive_connections=limit)
        self._client = httpx.AsyncClient(limits=limits, timeout=httpx.Timeout(timeout_s))

    async def post(self) -> tuple[int, str]:
        """(status, the start of the body); status 0 when no answer came."""
        try:
            response = await self._client.post(self._url, content=self._body, headers=self._headers)
            await response.aread()
        except self._httpx.HTTPError as exc:
            return 0, f"{type(exc).__name__}: {exc}"
        return response.status_code, response.text[:300]

    async def aclose(self) -> None:
        await self._client.aclose()


class RawPoster:
    """POSTs one fixed, pre-encoded HTTP/1.1 request over keep-alive asyncio streams.

    About ten times less CPU per call than httpx, so the generator stays far from being the bottleneck
    on a small machine where it shares the cores with the servers it measures.
    """

    def __init__(self, url: str, headers: dict[str, str], body: bytes, limit: int, timeout_s: float) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or parts.hostname is None:
            raise ValueError(f"the raw client speaks plain http only: {url}")
        self._host, self._port = parts.hostname, parts.port or 80
        head = [f"POST {parts.path or '/'} HTTP/1.1", f"Host: {parts.netloc}", f"Content-Length: {len(body)}"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        self._request = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        self._timeout_s = timeout_s

    async def post(self) -> tuple[int, str]:
        """(status, the start of the body); status 0 when no answer came."""
        connection = self._idle.pop() if self._idle else None
        try:
            if connection is None:
                connection = await asyncio.wait_for(asyncio.open_connection(self._host, self._port), self._timeout_s)
            status, text, keep = await asyncio.wait_for(self._exchange(*connection), self._timeout_s)
        except (TimeoutError, OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError) as exc:
            if connection is not None:
                connection[1].close()
            return 0, f"{type(exc).__name__}: {exc}"
        if keep:
            self._idle.append(connection)
        else:
            connection[1].close()
        return status, text

    async def _exchange(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> tuple[int, str, bool]:
        writer.write(self._request)
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        lines = head.split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        fields = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
        if fields.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                chunks.append(await reader.readexactly(size + 2))
                if size == 0:
                    break
            body = b"".join(chunks)
        else:
            body = await reader.readexactly(int(fields.get("content-length", "0")))
        keep = fields.get("connection", "").lower() != "close"
        return status, body[:300].decode("utf-8", "replace"), keep

    async def aclose(self) -> None:
        for _, writer in self._idle:
            writer.close()
        self._idle.clear()


async def _generate(spec: dict[str, Any]) -> dict[str, Any]:
    """One measurement: ``closed`` (sequential workers) or ``open`` (fixed arrival rate) against one URL."""
    body = json.dumps(spec["body"]).encode()
    headers = {**spec["headers"], "content-type": "application/json"}
    limit = int(spec.get("max_in_flight", 512))
    kind = RawPoster if spec.get("client", "raw") == "raw" else HttpxPoster
    poster = kind(spec["url"], headers, body, limit, float(spec.get("timeout_s", 10.0)))
    latencies: list[float] = []
    lags: list[float] = []
    errors = 0
    first_error: str | None = None
    statuses: dict[str, int] = {}
    try:

        async def call(scheduled: float) -> None:
            nonlocal errors, first_error
            lags.append((time.perf_counter() - scheduled) * 1000)
            status, text = await poster.post()
            # Measured from the scheduled start: a server that falls behind cannot hide its queue.
            elapsed = (time.perf_counter() - scheduled) * 1000
            statuses[str(status)] = statuses.get(str(status), 0) + 1
            if 200 <= status < 300:
                latencies.append(elapsed)
            else:
                errors += 1
                first_error = first_error or f"HTTP {status}: {text}"

        for _ in range(int(spec.get("warmup", 0))):  # connections, caches, lazy imports on the server
            await call(time.perf_counter())
        warmup_ok = len(latencies)
        latencies.clear()
        lags.clear()
        errors, first_error, statuses = 0, None, {}
        cpu, started = time.process_time(), time.perf_counter()
        held_back = 0
        if spec["mode"] == "closed":
            deadline = started + float(spec["max_seconds"])
            count = int(spec["requests"])
            issued = 0

            async def worker() -> None:
                nonlocal issued
                while issued < count and time.perf_counter() < deadline:
                    issued += 1
                    await call(time.perf_counter())

            await asyncio.gather(*(worker() for _ in range(int(spec["concurrency"]))))
            offered = None
        else:
            rate, seconds = float(spec["rate"]), float(spec["seconds"])
            total = max(1, int(rate * seconds))
            tasks: set[asyncio.Task[None]] = set()
            for i in range(total):
                scheduled = started + i / rate
                delay = scheduled - time.perf_counter()
                if delay > 0:
                    await asyncio.sleep(delay)
                if len(tasks) >= limit:
                    held_back += 1  # the server is this far behind: count it as a failure to hold the rate
                    errors += 1
                    first_error = first_error or f"more than {limit} calls in flight"
                    continue
                task = asyncio.create_task(call(scheduled))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            if tasks:
                await asyncio.gather(*tasks)
            offered = rate
        wall = time.perf_counter() - started
        cpu = time.process_time() - cpu
    finally:
        await poster.aclose()
    done = len(latencies)
    return {
        "mode": spec["mode"],
        "offered_rate": offered,
        "ok": done,
        "warmup_ok": warmup_ok,
        "errors": errors,
        "held_back": held_back,
        "statuses": statuses,
        "first_error": first_error,
        "seconds": round(wall, 3),
        "achieved_rate": round(done / wall, 1) if wall else 0.0,
        **_latency_summary(latencies),
        "send_lag_p99_ms": round(_percentile(sorted(lags), 0.99), 3),
        "generator_cpu_share": round(cpu / wall, 3) if wall else 0.0,
    }


def run_generator(spec: dict[str, Any]) -> dict[str, Any]:
    """Run one measurement in a fresh generator process (so its CPU is not the bench's own)."""
    process = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "_generate"],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        timeout=float(spec.get("max_seconds", spec.get("seconds", 10))) + 120,
        cwd=ROOT,
    )
    if process.returncode != 0:
        raise RuntimeError(f"the load generator failed: {process.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(process.stdout)
    return result


# --- processes under test ------------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port that was free a moment ago on 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Service:
    """A process under test and how to call it."""

    name: str
    process: subprocess.Popen[bytes] | None
    url: str
    headers: dict[str, str]
    body: dict[str, Any]
    log: Path | None = None
    notes: dict[str, Any] = field(default_factory=dict)
    server_pid: int | None = None  # the process group whose CPU a call costs (None: not counted)

    def stop(self) -> None:
        """SIGTERM its process group, SIGKILL after 20 s."""
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def alive(self) -> bool:
        """Whether its process still runs (the stub's, when it has none of its own)."""
        return self.process is None or self.process.poll() is None


def wait_http(url: str, process: subprocess.Popen[bytes] | None, limit_s: float, log: Path | None) -> None:
    """Poll ``url`` until it answers 200; fail with the log's tail if the process dies or time runs out."""
    import httpx

    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            break
        try:
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise RuntimeError(f"{url} did not come up within {limit_s:.0f} s\n{tail}")


def start_stub() -> tuple[subprocess.Popen[bytes], str]:
    """bench/stub.py in its own process, answering at once; returns it and its base URL."""
    process = subprocess.Popen(
        [sys.executable, str(STUB), "--port", "0", "--delay-ms", "0"], stdout=subprocess.PIPE, start_new_session=True
    )
    assert process.stdout is not None
    line = process.stdout.readline().decode().strip()
    if not line.startswith("stub listening on "):
        process.kill()
        raise RuntimeError(f"the stub did not start: {line!r}")
    return process, line.removeprefix("stub listening on ")


def chat_body() -> dict[str, Any]:
    """The same OpenAI chat request for every target (only the model's name differs)."""
    return {"model": MODEL, "messages": [{"role": "user", "content": PROMPT}], "max_tokens": 16}


def andon_workspace(folder: Path, stub_url: str) -> None:
    """A workspace whose feature ``hello`` calls the stub; defaults otherwise (redacted inputs, no cache)."""
    config = {
        "andon": 1,
        "name": "gateway-bench",
        "providers": {
            "stub": {"type": "openai", "base_url": stub_url, "api_key": "sk-stub", "model": MODEL, "max_retries": 0}
        },
        "features": {"hello": {"versions": {"v1": {"provider": "stub", "prompt": "{{ input }}"}}}},
        "gateway": {"auth": True},
    }
    (folder / "andon.yaml").write_text(json.dumps(config, indent=2), encoding="utf-8")


def andon_env(database_url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("ANDON_DATABASE_URL", "ANDON_WORKSPACE")}
    if database_url:
        env["ANDON_DATABASE_URL"] = database_url
    return env


def start_andon(folder: Path, stub_url: str, workers: int, database_url: str | None) -> tuple[Service, Service]:
    """`andon serve` with auth on and a fresh key: the chat (provider model) and invoke (feature) routes."""
    folder.mkdir(parents=True, exist_ok=True)
    andon_workspace(folder, stub_url)
    env = andon_env(database_url)
    andon = [sys.executable, "-m", "andon", "--workspace", str(folder)]
    created = subprocess.run(
        [*andon, "keys", "create", "bench", "--scope", "invoke", "--json"],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    if created.returncode != 0:
        raise RuntimeError(f"andon keys create failed: {created.stderr}")
    secret = json.loads(created.stdout)["secret"]
    # Nothing is live until promoted; the bench feature is never evaluated, so it is promoted as an override.
    promoted = subprocess.run(
        [*andon, "promote", "hello", "v1", "--force", "--reason", "bench: served without an evaluation"],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )  # fmt: skip
    if promoted.returncode != 0:
        raise RuntimeError(f"andon promote failed: {promoted.stderr}")
    port = free_port()
    log = folder / "serve.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [*andon, "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
             "--log-level", "warning"],
            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=folder, start_new_session=True,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    wait_http(f"{base}/readyz", process, 120, log)
    headers = {"authorization": f"Bearer {secret}"}
    store = "postgresql" if database_url else "sqlite"
    chat = Service(
        f"andon chat ({store})", process, f"{base}/v1/chat/completions", headers,
        {**chat_body(), "model": f"stub/{MODEL}"}, log, server_pid=process.pid,
    )  # fmt: skip
    invoke = Service(
        f"andon invoke ({store})", None, f"{base}/v1/features/hello/invoke", headers,
        {"variables": {"input": PROMPT}}, log, server_pid=process.pid,
    )  # fmt: skip
    return chat, invoke


LITELLM_PIN = "litellm[proxy]==1.106.2"


def litellm_bin(venv: Path) -> Path | None:
    """The ``litellm`` console script of the scratch venv, installed there once (the pin of PEERS.md)."""
    candidate = venv / "bin" / "litellm"
    if not candidate.is_file():
        print(f"installing {LITELLM_PIN} into {venv} (once, ~1 min)…", file=sys.stderr, flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        done = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", LITELLM_PIN], check=False)
        if done.returncode != 0:
            return None
    return candidate if candidate.is_file() else None


def start_litellm(folder: Path, stub_url: str, workers: int, venv: Path) -> Service:
    """The LiteLLM proxy (no database) in front of the stub, with a 64-hex master key."""
    binary = litellm_bin(venv)
    if binary is None:
        raise RuntimeError(f"no litellm in {venv}: python3 -m venv {venv} && {venv}/bin/pip install '{LITELLM_PIN}'")
    config = folder / "litellm.yaml"
    entry = {"model": f"openai/{MODEL}", "api_base": stub_url, "api_key": "sk-dummy"}
    config.write_text(json.dumps({"model_list": [{"model_name": MODEL, "litellm_params": entry}]}), encoding="utf-8")
    master = "sk-" + secrets.token_hex(32)
    env = {**os.environ, **LITELLM_ENV, "LITELLM_MASTER_KEY": master}
    env.pop("DATABASE_URL", None)
    port = free_port()
    log = folder / "litellm.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [str(binary), "--config", str(config), "--host", "127.0.0.1", "--port", str(port),
             "--num_workers", str(workers)],
            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=folder, start_new_session=True,
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    wait_http(f"{base}/health/liveliness", process, 180, log)
    version = subprocess.run(
        [str(venv / "bin" / "python"), "-c", "import importlib.metadata as m; print(m.version('litellm'))"],
        capture_output=True, text=True, check=False,
    ).stdout.strip()  # fmt: skip
    return Service(
        "litellm proxy", process, f"{base}/v1/chat/completions", {"authorization": f"Bearer {master}"},
        chat_body(), log, {"version": version, "database": "none", "workers": workers}, server_pid=process.pid,
    )  # fmt: skip


# --- measuring ------------------------------------------------------------------------------------------------


def spec_for(service: Service, args: argparse.Namespace, **extra: Any) -> dict[str, Any]:
    """What the generator needs: where to send which request, with which client, how."""
    return {"url": service.url, "headers": service.headers, "body": service.body, "client": args.client, **extra}


def group_cpu_s(pgid: int) -> float:
    """CPU seconds (user + system) used so far by every live process of process group ``pgid`` (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        if int(fields[2]) == pgid:  # fields after the name: state, ppid, pgrp, … utime (12), stime (13)
            total += int(fields[11]) + int(fields[12])
    return total / tick


def latency(service: Service, args: argparse.Namespace) -> dict[str, Any]:
    """Sequential calls (concurrency 1) after a warm-up; with the server's CPU per call when it is known.

    CPU per call counts the server's own work whatever else runs on the machine, where wall-clock
    latency on a shared machine mostly measures the wait for a core.
    """
    if args.client == "wrk":
        return wrk_closed(service, args, 1, args.wrk_seconds)
    spec = spec_for(service, args, mode="closed", concurrency=1, requests=args.latency_calls, warmup=args.warmup)
    cpu_before = group_cpu_s(service.server_pid) if service.server_pid else None
    result = run_generator({**spec, "max_seconds": args.latency_seconds})
    if cpu_before is not None and service.server_pid:
        calls = result.get("ok", 0) + result.get("errors", 0) + args.warmup
        result["server_cpu_ms_per_call"] = round((group_cpu_s(service.server_pid) - cpu_before) * 1000 / calls, 3)
    return result


def wrk_closed(service: Service, args: argparse.Namespace, connections: int, seconds: float) -> dict[str, Any]:
    """One wrk run (after a short warm-up run) with the server's CPU per call over it."""
    from bench import wrk  # here: the generator's own process runs this file as a script, without the package

    body = json.dumps(service.body).encode()
    warm = wrk.run(service.url, service.headers, body, connections=connections, seconds=1)  # not counted
    cpu_before = group_cpu_s(service.server_pid) if service.server_pid else None
    load = os.getloadavg()[0]
    result = wrk.run(service.url, service.headers, body, connections=connections, seconds=seconds,
                     threads=args.wrk_threads)  # fmt: skip
    result["load_avg_1m"] = [round(load, 2), round(os.getloadavg()[0], 2)]
    result["warmup_ok"] = warm["ok"]  # stored as traces too
    if cpu_before is not None and service.server_pid:
        calls = max(result["ok"] + result["errors"], 1)
        result["server_cpu_ms_per_call"] = round((group_cpu_s(service.server_pid) - cpu_before) * 1000 / calls, 3)
    return result


def wrk_ramp(service: Service, args: argparse.Namespace) -> dict[str, Any]:
    """Closed-loop throughput at each of ``--wrk-connections``: the best rate with no errors and p99 ≤ 1 s."""
    steps = []
    for connections in args.wrk_connections:
        result = wrk_closed(service, args, connections, args.wrk_seconds)
        result["held"] = result["errors"] == 0 and result["p99_ms"] <= HELD_P99_MS
        result["offered_rate"] = None
        steps.append(result)
        print(
            f"    {service.name:<24} {connections:>4} connections → {result['achieved_rate']:>8.1f}/s, "
            f"p50 {result['p50_ms']:.2f} ms, p99 {result['p99_ms']:.2f} ms, errors {result['errors']}, "
            f"CPU {result.get('server_cpu_ms_per_call', math.nan):.3f} ms/call, load {result['load_avg_1m']}",
            flush=True,
        )
        time.sleep(args.pause_seconds)
    good = [r for r in steps if r["held"]]
    best = max(good, key=lambda r: r["achieved_rate"]) if good else None
    return {
        "max_held_rate": best["achieved_rate"] if best else None,
        "at_max": best,
        "first_not_held": next((r for r in steps if not r["held"]), None),
        "limited_by_generator": False,
        "capped": False,
        "steps": steps,
    }


_NO_RAMP: dict[str, Any] = {"max_held_rate": None, "capped": False, "limited_by_generator": False, "steps": []}


def held(step: dict[str, Any]) -> bool:
    """No errors, completions kept pace, p99 under a second, and the generator kept its schedule."""
    return bool(
        step["errors"] == 0
        and step["achieved_rate"] >= HELD_PACE * step["offered_rate"]
        and step["p99_ms"] <= HELD_P99_MS
        and step["send_lag_p99_ms"] <= LAG_LIMIT_MS
    )


def ramp(service: Service, args: argparse.Namespace) -> dict[str, Any]:
    """Offer rising rates until one is not held, then bisect between the last held and the first not."""
    steps: list[dict[str, Any]] = []
    best: dict[str, Any] | None = None
    failed: dict[str, Any] | None = None
    started = time.monotonic()
    if args.client == "wrk":
        return wrk_ramp(service, args)

    def step(rate: float) -> dict[str, Any]:
        result = run_generator(
            spec_for(service, args, mode="open", rate=round(rate, 1), seconds=args.step_seconds, warmup=args.warmup,
                     max_in_flight=args.max_in_flight)
        )  # fmt: skip
        result["held"] = held(result)
        result["generator_bound"] = result["send_lag_p99_ms"] > LAG_LIMIT_MS
        steps.append(result)
        mark = "held" if result["held"] else "NOT held"
        print(
            f"    {service.name:<24} {rate:>8.1f}/s offered → {result['achieved_rate']:>8.1f}/s, "
            f"p99 {result['p99_ms']:>8.1f} ms, errors {result['errors']}: {mark}",
            flush=True,
        )
        time.sleep(args.pause_seconds)  # let the server drain before the next step
        if not service.alive():
            raise RuntimeError(f"{service.name} died during the ramp")
        return result

    rate = args.start_rate
    while rate <= args.max_rate and time.monotonic() - started < args.ramp_budget_seconds:
        result = step(rate)
        if not result["held"]:
            failed = result
            break
        best = result
        rate *= args.ramp_factor
    if best is not None and failed is not None:
        low, high = best["offered_rate"], failed["offered_rate"]
        for _ in range(args.refine_steps):
            if high / low < 1.08:
                break
            middle = (low + high) / 2
            result = step(middle)
            if result["held"]:
                best, low = result, middle
            else:
                failed, high = result, middle
    return {
        "max_held_rate": best["offered_rate"] if best else None,
        "at_max": best,
        "first_not_held": failed,
        "limited_by_generator": bool(failed and failed["generator_bound"]),
        "capped": failed is None,  # reached --max-rate (or the time budget) without failing
        "steps": steps,
    }


def count_traces(folder: Path, database_url: str | None) -> int | None:
    """Traces the gateway committed (read straight from its store)."""
    sys.path.insert(0, str(ROOT / "src"))
    from sqlalchemy import func, select

    from andon.store import Store
    from andon.store.models import TraceRow

    with (
        Store.open(database_url or f"sqlite:///{folder / '.andon' / 'andon.db'}") as store,
        store.engine.connect() as c,
    ):
        return int(c.execute(select(func.count()).select_from(TraceRow)).scalar_one())


@contextlib.contextmanager
def scratch() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="andon-bench-gateway-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main_run(args: argparse.Namespace) -> dict[str, Any]:
    if not args.skip_litellm and litellm_bin(args.litellm_venv) is None:  # before minutes of measuring
        raise SystemExit(f"could not install {LITELLM_PIN} into {args.litellm_venv}; or run with --skip-litellm")
    from bench import wrk

    nginx_prefix = None
    if args.stub == "nginx":
        stub_process, stub_url, nginx_prefix = wrk.start_nginx(free_port(), MODEL)
        wait_http(f"{stub_url}/chat/completions", stub_process, 20, None)
    else:
        stub_process, stub_url = start_stub()
    services: list[Service] = []
    results: dict[str, Any] = {}
    with scratch() as folder:
        try:
            direct = Service("stub (direct)", None, f"{stub_url}/chat/completions", {"authorization": "Bearer sk-x"},
                             chat_body(), server_pid=stub_process.pid)  # fmt: skip
            order: list[tuple[str, Any]] = [("stub (direct)", lambda: [direct])]
            if not args.skip_litellm:  # LiteLLM first: the peer's numbers come from the same run as ours
                order.append(("litellm", lambda: [start_litellm(folder, stub_url, args.workers, args.litellm_venv)]))
            if not args.skip_andon:
                order.append(
                    ("andon", lambda: list(start_andon(folder / "ws", stub_url, args.workers, args.andon_database)))
                )
            for label, start in order:
                print(f"  starting {label}…", flush=True)
                group: list[Service] = start()
                services += group
                for service in group:
                    print(f"  {service.name}: latency at concurrency 1", flush=True)
                    lat = latency(service, args)
                    print(f"    p50 {lat['p50_ms']:.2f} ms, p99 {lat['p99_ms']:.2f} ms over {lat['ok']} calls "
                          f"({lat['errors']} errors)", flush=True)  # fmt: skip
                    if args.latency_only:
                        results[service.name] = {"latency": lat, "ramp": _NO_RAMP, **service.notes}
                        continue
                    print(f"  {service.name}: ramping the request rate", flush=True)
                    results[service.name] = {"latency": lat, "ramp": ramp(service, args), **service.notes}
                for service in group:
                    service.stop()
                if label == "andon":
                    measured = [r for name, r in results.items() if name.startswith("andon")]
                    answered = sum(
                        m["ok"] + m["warmup_ok"] for r in measured for m in [r["latency"], *r["ramp"]["steps"]]
                    )
                    stored = count_traces(folder / "ws", args.andon_database)
                    for row in measured:
                        row["traces"] = {"stored": stored, "2xx_answers": answered}
        finally:
            for service in services:
                service.stop()
            os.killpg(stub_process.pid, signal.SIGTERM)
            stub_process.wait(timeout=10)
            if nginx_prefix is not None:
                shutil.rmtree(nginx_prefix, ignore_errors=True)
    base = results.get("stub (direct)", {}).get("latency")
    for name, row in results.items():
        if base and name != "stub (direct)":
            row["added_latency_ms"] = {
                q: round(row["latency"][f"{q}_ms"] - base[f"{q}_ms"], 3) for q in ("p50", "p90", "p99")
            }
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
        },
        "settings": {
            "workers": args.workers,
            "stub_delay_ms": 0,
            "latency_calls": args.latency_calls,
            "warmup_calls": args.warmup,
            "step_seconds": args.step_seconds,
            "ramp": f"from {args.start_rate}/s ×{args.ramp_factor}, then {args.refine_steps} bisection steps",
            "held_means": f"0 errors, ≥ {HELD_PACE:.0%} of the offered rate completed, p99 ≤ {HELD_P99_MS:.0f} ms, "
            f"generator send lag p99 ≤ {LAG_LIMIT_MS:.0f} ms",
            "max_in_flight": args.max_in_flight,
            "andon_store": "postgresql" if args.andon_database else "sqlite (workspace default)",
            "load_generator": "wrk (closed loop; --wrk-connections)"
            if args.client == "wrk"
            else f"ours: asyncio with the {args.client} HTTP client, one process per measurement, loopback only",
            "stub": "nginx, one fixed JSON answer" if args.stub == "nginx" else "bench/stub.py",
        },
        "results": results,
    }


def print_table(report: dict[str, Any]) -> None:
    """One line per target."""
    print()
    head = (
        f"{'target':<26} | {'p50 ms':>7} | {'p99 ms':>7} | {'+p50 ms':>8} | {'+p99 ms':>8} | {'max held req/s':>14} "
        f"| {'CPU ms/call':>11}"
    )
    print(head)
    print("-" * len(head))
    for name, row in report["results"].items():
        lat, added = row["latency"], row.get("added_latency_ms")
        held_rate = row["ramp"]["max_held_rate"]
        held_text = "–" if held_rate is None else f"{held_rate:.0f}"
        if row["ramp"]["capped"]:
            held_text = f"≥ {held_text}"
        if row["ramp"]["limited_by_generator"]:
            held_text += " (gen)"
        plus50 = f"{added['p50']:>8.2f}" if added else f"{'–':>8}"
        plus99 = f"{added['p99']:>8.2f}" if added else f"{'–':>8}"
        cpu = lat.get("server_cpu_ms_per_call")
        cpu_text = "–" if cpu is None else f"{cpu:.2f}"
        print(f"{name:<26} | {lat['p50_ms']:>7.2f} | {lat['p99_ms']:>7.2f} | {plus50} | {plus99} | {held_text:>14} "
              f"| {cpu_text:>11}")  # fmt: skip
    for row in report["results"].values():
        if "traces" in row:
            t = row["traces"]
            print(f"\nandon: {t['stored']} traces stored for {t['2xx_answers']} 2xx answers (chat and invoke together)")
            break


def main(argv: list[str] | None = None) -> None:
    """Run the bench and write bench/out/gateway.json."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_generate"]:  # the load generator's own process
        print(json.dumps(asyncio.run(_generate(json.loads(sys.stdin.read())))))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=1, help="worker processes of each gateway")
    parser.add_argument("--latency-calls", type=int, default=1000, help="sequential calls for the latency figures")
    parser.add_argument("--latency-seconds", type=float, default=30.0, help="cap on the latency measurement")
    parser.add_argument("--warmup", type=int, default=50, help="calls before each measurement, not counted")
    parser.add_argument("--start-rate", type=float, default=20.0, help="first offered rate (req/s)")
    parser.add_argument("--ramp-factor", type=float, default=1.5)
    parser.add_argument("--max-rate", type=float, default=3000.0, help="stop ramping above this (req/s)")
    parser.add_argument("--refine-steps", type=int, default=3, help="bisection steps after the first failure")
    parser.add_argument("--step-seconds", type=float, default=5.0, help="length of one offered-rate step")
    parser.add_argument("--pause-seconds", type=float, default=1.0, help="rest between steps")
    parser.add_argument("--ramp-budget-seconds", type=float, default=240.0, help="cap on one target's ramp")
    parser.add_argument("--max-in-flight", type=int, default=256, help="calls the generator keeps open at most")
    parser.add_argument("--andon-database", default=None, help="PostgreSQL URL for andon's store (default: SQLite)")
    parser.add_argument(
        "--litellm-venv", type=Path, default=Path("/tmp/litellm-venv"), help="scratch venv with litellm"
    )
    parser.add_argument(
        "--client", choices=("raw", "httpx", "wrk"), default="raw",
        help="the generator: raw (asyncio streams), httpx, or wrk (closed loop; needs the wrk binary)",
    )  # fmt: skip
    parser.add_argument("--stub", choices=("python", "nginx"), default="python", help="the upstream answering at once")
    parser.add_argument("--wrk-seconds", type=float, default=10.0, help="length of each wrk run")
    parser.add_argument("--wrk-threads", type=int, default=1, help="wrk's threads (it shares the 2 cores)")
    parser.add_argument(
        "--wrk-connections", type=lambda v: [int(x) for x in v.split(",")], default=[8, 32, 64],
        help="connections of the throughput runs (comma-separated)",
    )  # fmt: skip
    parser.add_argument("--skip-litellm", action="store_true")
    parser.add_argument("--skip-andon", action="store_true")
    parser.add_argument("--latency-only", action="store_true", help="no ramp: latency and CPU per call only")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args(argv)
    report = main_run(args)
    print_table(report)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
