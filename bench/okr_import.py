"""Work-item import throughput: N GitHub-shaped issues paged over loopback HTTP into a real store.

    python -m bench.okr_import [--items 5000] [--database-url postgresql+psycopg://…]

Three runs against the same repository: the first import (every page), a re-import with nothing changed
(one conditional request answered 304), and a re-import after 1% of the issues changed (``since=``).
Prints seconds and items per second for each, and writes JSON to bench/out/okr_import.json.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from andon.okr.work import ImportContext, build_importer, import_work
from andon.store import Store

PAGE = 100
OUT = Path(__file__).resolve().parent / "out"


class Issues:
    """The remote repository: ``count`` issues, some updated later; pages and ETags as GitHub gives them."""

    def __init__(self, count: int) -> None:
        self.updated = {n: f"2026-11-{1 + n % 28:02d}T{n % 24:02d}:00:00Z" for n in range(1, count + 1)}

    def touch(self, share: float) -> None:
        """Update ``share`` of the issues now."""
        step = max(1, round(1 / share))
        for n in list(self.updated)[::step]:
            self.updated[n] = "2026-12-01T12:00:00Z"

    def item(self, n: int) -> dict[str, Any]:
        return {"number": n, "title": f"Issue {n}", "state": "open" if n % 3 else "closed", "state_reason": None,
                "html_url": f"https://github.com/acme/menu-app/issues/{n}", "labels": [{"name": f"KR-2026Q4-{n % 5}"}],
                "assignee": {"login": "jiwoo"} if n % 2 else None, "updated_at": self.updated[n]}  # fmt: skip

    def page(self, query: dict[str, list[str]]) -> tuple[list[dict[str, Any]], bool]:
        since = query.get("since", [""])[0]
        order = sorted((u, n) for n, u in self.updated.items() if u >= since)
        if query.get("direction") == ["desc"]:
            order.reverse()
        size = int(query.get("per_page", ["30"])[0])
        start = (int(query.get("page", ["1"])[0]) - 1) * size
        return [self.item(n) for _, n in order[start : start + size]], start + size < len(order)


def serve(issues: Issues) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            items, more = issues.page(query)
            body = json.dumps(items).encode()
            tag = f'W/"{hashlib.sha256(body).hexdigest()[:32]}"'
            if self.headers.get("if-none-match") == tag:
                self.send_response(304)
                self.send_header("ETag", tag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("ETag", tag)
            self.send_header("Content-Type", "application/json")
            if more:
                page = int(query.get("page", ["1"])[0]) + 1
                rest = "&".join(f"{k}={v[0]}" for k, v in query.items() if k != "page")
                self.send_header("Link", f'<http://127.0.0.1:{port}{parts.path}?{rest}&page={page}>; rel="next"')
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


async def timed(store: Store, base: str) -> dict[str, Any]:
    importer = build_importer(
        {"type": "github", "repo": "acme/menu-app", "base_url": base, "token_env": None, "page_size": PAGE},
        ImportContext(env={}),
    )
    start = time.perf_counter()
    result = await import_work(store, importer)
    seconds = time.perf_counter() - start
    return {"seconds": round(seconds, 3), "fetched": result.fetched, "inserted": result.inserted,
            "updated": result.updated, "requests": result.requests, "unchanged": result.unchanged,
            "items_per_s": round(result.fetched / seconds) if result.fetched else None}  # fmt: skip


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    args = parser.parse_args()
    issues = Issues(args.items)
    server = serve(issues)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{folder}/bench.db"
        store = Store.open(url)
        runs = {"first": await timed(store, base), "unchanged": await timed(store, base)}
        issues.touch(0.01)
        runs["one_percent_changed"] = await timed(store, base)
    server.shutdown()
    print(f"{'run':<22}{'seconds':>9}{'fetched':>9}{'new':>7}{'updated':>9}{'requests':>10}{'items/s':>9}")
    for name, r in runs.items():
        print(f"{name:<22}{r['seconds']:>9}{r['fetched']:>9}{r['inserted']:>7}{r['updated']:>9}{r['requests']:>10}"
              f"{r['items_per_s'] or '-':>9}")  # fmt: skip
    OUT.mkdir(exist_ok=True)
    (OUT / "okr_import.json").write_text(json.dumps({"items": args.items, "runs": runs}, indent=2), encoding="utf-8")


if __name__ == "__main__":
    asyncio.run(main())
