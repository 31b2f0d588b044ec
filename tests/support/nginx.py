"""A real nginx (Debian's) in front of gateway replicas, on a free loopback port, for scale-out tests.

with Nginx(tmp_path, [replica.port for replica in replicas]) as proxy:
    httpx.post(f"{proxy.base_url}/v1/features/echo/invoke", json={})
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx
from tests.support.gateway_server import free_port

# Round robin over the replicas; a replica that refuses the connection is skipped (the request was never sent,
# so trying the next one is safe even for a POST). A request already sent to a replica that dies is not
# retried (nginx's default for non-idempotent methods): the client sees 502 and nothing was acknowledged.
CONFIG = """
worker_processes 1;
user root;  # ignored unless started as root; then the worker may write the test's private temp folder
daemon off;
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    upstream andon {{
{servers}
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://andon;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_next_upstream error timeout;
            proxy_connect_timeout 2s;
        }}
    }}
}}
"""


def nginx_binary() -> str:
    """Debian's nginx (installed by scripts/system-deps)."""
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None:
        raise RuntimeError("nginx is not installed: run scripts/system-deps (it installs Debian's nginx)")
    return found


class Nginx:
    """nginx proxying to ``127.0.0.1:PORT`` for each port, started in the foreground and stopped on exit."""

    def __init__(self, folder: Path, ports: Sequence[int]) -> None:
        self.folder = folder
        self.folder.mkdir(parents=True, exist_ok=True)
        self.ports = list(ports)
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        """Write the config, start nginx and wait until it proxies."""
        self.port = free_port()
        servers = "\n".join(f"        server 127.0.0.1:{p} max_fails=0;" for p in self.ports)
        conf = self.folder / "nginx.conf"
        conf.write_text(CONFIG.format(folder=self.folder, servers=servers, port=self.port), encoding="utf-8")
        log = (self.folder / "stderr.log").open("ab")
        self.process = subprocess.Popen([nginx_binary(), "-p", str(self.folder), "-c", str(conf)], stderr=log)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nginx exited: {(self.folder / 'stderr.log').read_text(errors='replace')}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1.0).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError("nginx did not start proxying within 30 s")

    def stop(self) -> None:
        """Stop nginx (SIGTERM: fast shutdown)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
