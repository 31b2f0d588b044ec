"""wrk as the gateway bench's load generator, and nginx as a fixed-answer stub (``bench.gateway --client wrk``).

wrk (C, epoll, one thread per core) costs a few microseconds per call, so on a shared 2-core machine it can
offer well over 1,000 req/s where our Python generator held ~43-300. It is closed-loop: ``connections``
calls in flight at all times, each sent when the last answered; its latency percentiles come from a Lua
``done`` hook as JSON. nginx answers any request with one fixed chat.completion JSON body, the cheapest
upstream there is, so "direct to the stub" measures almost nothing but the loopback round trip.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

NGINX = "/usr/sbin/nginx"
_LUA = """
wrk.method = "POST"
wrk.body = %(body)s
%(headers)s
local statuses = {}
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write("WRK_JSON ", string.format(
    '{"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p90_us": %%d, "p99_us": %%d, "max_us": %%d, ' ..
    '"connect_errors": %%d, "read_errors": %%d, "write_errors": %%d, "timeouts": %%d, "non_2xx": %%d}',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, e.connect, e.read, e.write, e.timeout, e.status), "\\n")
end
"""


def available() -> bool:
    """Whether the ``wrk`` binary is installed (Debian package ``wrk``, see scripts/system-deps)."""
    return shutil.which("wrk") is not None


def _lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string literal is a valid Lua string literal for ASCII text


def script(headers: dict[str, str], body: bytes) -> str:
    """The Lua script: a fixed POST with ``headers`` and ``body``, and the JSON summary at the end."""
    lines = [f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items()]
    return _LUA % {"body": _lua_string(body.decode("ascii")), "headers": "\n".join(lines)}


def run(
    url: str, headers: dict[str, str], body: bytes, *, connections: int, seconds: float, threads: int = 1
) -> dict[str, Any]:
    """One closed-loop wrk run: req/s, latency percentiles (ms), errors and wrk's own CPU share."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script({**headers, "content-type": "application/json"}, body))
        path = Path(handle.name)
    try:
        command = ["wrk", "-t", str(min(threads, connections)), "-c", str(connections), "-d", f"{seconds:.0f}s",
                   "--timeout", "10s", "-s", str(path), url]  # fmt: skip
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
        wall = time.perf_counter() - started
    finally:
        path.unlink(missing_ok=True)
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRK_JSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed: {done.stdout[-1500:]} {done.stderr[-1500:]}")
    raw = json.loads(line.removeprefix("WRK_JSON "))
    errors = sum(raw[k] for k in ("connect_errors", "read_errors", "write_errors", "timeouts", "non_2xx"))
    duration_s = raw["duration_us"] / 1e6
    return {
        "mode": f"wrk closed loop, {connections} connection(s)",
        "connections": connections,
        "ok": raw["requests"] - raw["non_2xx"],
        "errors": errors,
        "seconds": round(duration_s, 3),
        "achieved_rate": round(raw["requests"] / duration_s, 1) if duration_s else 0.0,
        "p50_ms": raw["p50_us"] / 1000,
        "p90_ms": raw["p90_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
        "warmup_ok": 0,
        "wall_seconds": round(wall, 3),
        "raw": raw,
    }


def fixed_reply(model: str) -> bytes:
    """The chat.completion nginx returns (the shape bench/stub.py answers, fixed text and usage)."""
    return json.dumps(
        {
            "id": "chatcmpl-nginx",
            "object": "chat.completion",
            "created": 0,
            "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
        },
        separators=(",", ":"),
    ).encode()


def start_nginx(port: int, model: str) -> tuple[subprocess.Popen[bytes], str, Path]:
    """nginx on 127.0.0.1:``port`` answering every request with :func:`fixed_reply` (one worker process)."""
    prefix = Path(tempfile.mkdtemp(prefix="andon-bench-nginx-"))
    reply = fixed_reply(model).decode().replace("\\", "\\\\").replace("'", "\\'")
    conf = prefix / "nginx.conf"
    conf.write_text(
        f"""daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_body_temp_path {prefix}/body; proxy_temp_path {prefix}/proxy; fastcgi_temp_path {prefix}/fcgi;
  uwsgi_temp_path {prefix}/uwsgi; scgi_temp_path {prefix}/scgi;
  keepalive_requests 1000000;
  server {{
    listen 127.0.0.1:{port};
    location / {{ default_type application/json; return 200 '{reply}'; }}
  }}
}}
""",
        encoding="utf-8",
    )
    process = subprocess.Popen([NGINX, "-p", str(prefix), "-c", str(conf)], start_new_session=True)
    return process, f"http://127.0.0.1:{port}/v1", prefix
