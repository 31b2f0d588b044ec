"""What one provider POST costs in each HTTP client, in one run: andon's ``JsonHttp`` (httpx) beside leaner ones.

All clients POST the same chat request to nginx answering one fixed JSON body (``bench/wrk.py``), in this
process, on uvloop when installed: ``--calls`` sequential calls, then ``--calls`` at ``--concurrency``. For each:
wall µs per sequential call, process CPU µs per call (sequential and concurrent) and calls/s concurrent.

- ``jsonhttp``: ``andon.providers._http.JsonHttp.post`` as the gateway uses it (the lean client of
  ``providers/_wire.py``, JSON encode and decode);
- ``jsonhttp-httpx``: the same over httpx (sharded pools), as it runs behind a proxy (and did before);
- ``httpx``: one bare ``httpx.AsyncClient.post`` (no JSON work, no shards);
- ``httpcore``: httpcore's ``AsyncConnectionPool`` directly (what httpx runs on; no httpx request/response layer);
- ``streams``: a minimal HTTP/1.1 client on asyncio streams (keep-alive, Content-Length bodies only): the floor;
- ``aiohttp``: when it is installed (it is not a dependency).

Run from the project root: ``nice -n 10 .venv/bin/python -m bench.http_clients [--calls 3000] [--concurrency 32]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench import wrk

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

BODY = {"model": "stub-model", "messages": [{"role": "user", "content": "Say hi to the bench."}], "max_tokens": 16}
Post = Callable[[], Awaitable[Any]]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class StreamsClient:
    """Keep-alive HTTP/1.1 over asyncio streams, Content-Length answers only: the least a client can do."""

    def __init__(self, host: str, port: int, path: str, body: bytes) -> None:
        self._host, self._port = host, port
        head = f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\ncontent-type: application/json\r\n"
        self._request = (head + f"content-length: {len(body)}\r\n\r\n").encode() + body
        self._idle: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []

    async def post(self) -> Any:
        conn = self._idle.pop() if self._idle else await asyncio.open_connection(self._host, self._port)
        reader, writer = conn
        writer.write(self._request)
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        data = await reader.readexactly(length)
        self._idle.append(conn)
        return json.loads(data)

    async def aclose(self) -> None:
        for _, writer in self._idle:
            writer.close()


async def measure(name: str, post: Post, calls: int, concurrency: int) -> dict[str, Any]:
    """Sequential then concurrent calls of ``post``: wall and CPU per call, calls/s."""
    for _ in range(50):
        await post()
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(calls):
        await post()
    seq_wall, seq_cpu = time.perf_counter() - wall, time.process_time() - cpu
    left = calls

    async def worker() -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await post()

    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    con_wall, con_cpu = time.perf_counter() - wall, time.process_time() - cpu
    row = {
        "client": name,
        "seq_wall_us": round(seq_wall / calls * 1e6, 1),
        "seq_cpu_us": round(seq_cpu / calls * 1e6, 1),
        "conc_cpu_us": round(con_cpu / calls * 1e6, 1),
        "conc_calls_per_s": round(calls / con_wall, 1),
        "load": round(os.getloadavg()[0], 2),
    }
    print(
        f"{name:<14} seq {row['seq_wall_us']:>8.1f} µs wall {row['seq_cpu_us']:>8.1f} µs CPU | "
        f"c={concurrency} {row['conc_calls_per_s']:>8.1f}/s {row['conc_cpu_us']:>8.1f} µs CPU/call "
        f"| load {row['load']}",
        flush=True,
    )
    return row


async def run(args: argparse.Namespace, base: str, port: int) -> list[dict[str, Any]]:
    import httpcore
    import httpx

    from andon.config.schema import ProviderConfig
    from andon.providers import _http
    from andon.providers._http import JsonHttp

    url = f"{base}/chat/completions"
    body = json.dumps(BODY).encode()
    rows: list[dict[str, Any]] = []
    config = ProviderConfig.model_validate({"type": "openai", "base_url": base, "api_key": "sk-x", "concurrency": 64})
    jsonhttp = JsonHttp("stub", base, config, {"authorization": "Bearer sk-x"}, "sk-x")
    lean = _http._proxied
    _http._proxied = lambda: True  # type: ignore[assignment]  # the httpx path, as behind a proxy
    try:
        jsonhttpx = JsonHttp("stub", base, config, {"authorization": "Bearer sk-x"}, "sk-x")
    finally:
        _http._proxied = lean  # type: ignore[assignment]
    client = httpx.AsyncClient(limits=httpx.Limits(max_connections=64, max_keepalive_connections=64))
    pool = httpcore.AsyncConnectionPool(max_connections=64, max_keepalive_connections=64)
    streams = StreamsClient("127.0.0.1", port, "/v1/chat/completions", body)
    headers = [(b"content-type", b"application/json"), (b"authorization", b"Bearer sk-x")]

    async def via_httpx() -> Any:
        return (await client.post(url, content=body, headers={"content-type": "application/json"})).content

    async def via_httpcore() -> Any:
        response = await pool.request("POST", url, headers=headers, content=body)
        return json.loads(response.content)

    clients: list[tuple[str, Post]] = [
        ("jsonhttp", lambda: jsonhttp.post("/chat/completions", BODY)),
        ("jsonhttp-httpx", lambda: jsonhttpx.post("/chat/completions", BODY)),
        ("httpx", via_httpx),
        ("httpcore", via_httpcore),
        ("streams", streams.post),
    ]
    session = None
    try:
        import aiohttp
    except ImportError:
        print("aiohttp: not installed (not a dependency): skipped", flush=True)
    else:
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64))

        async def via_aiohttp() -> Any:
            assert session is not None
            async with session.post(url, data=body, headers={"content-type": "application/json"}) as response:
                return await response.json()

        clients.append(("aiohttp", via_aiohttp))
    try:
        for _round in range(args.rounds):
            for name, post in clients:
                rows.append(await measure(name, post, args.calls, args.concurrency))
    finally:
        await jsonhttp.aclose()
        await jsonhttpx.aclose()
        await client.aclose()
        await pool.aclose()
        await streams.aclose()
        if session is not None:
            await session.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2, help="the clients alternate this many times")
    args = parser.parse_args()
    port = _free_port()
    process, base, prefix = wrk.start_nginx(port, "stub-model")
    try:
        time.sleep(0.5)
        runner: Any = asyncio.run
        with contextlib.suppress(ImportError):
            import uvloop

            runner = uvloop.run
        rows = runner(run(args, base, port))
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=10)
        shutil.rmtree(prefix, ignore_errors=True)
    out = ROOT / "bench" / "out" / "http_clients.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
