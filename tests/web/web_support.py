"""The dashboard's test bench: a workspace, users, review items, and the real app served by uvicorn on loopback.

    folder = write_web_workspace(tmp_path)
    with WebServer(folder) as server:
        with signed_in(server.base_url, "rita") as client: ...

The server runs in a thread of the test process (so tests can shorten the undo window and the lock-out),
with the app ``andon serve`` builds: the API under /v1, the pages at /.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import httpx
import uvicorn
from tests.support.gateway_server import free_port, promote_declared

from andon.gateway.app import create_app
from andon.review.queue import ReviewItem
from andon.store.models import utcnow
from andon.web.render import WebSettings
from andon.web.users import Lockout, add_user
from andon.workspace import Workspace

PASSWORD = "correct horse battery"
USERS = {"vera": "viewer", "rita": "reviewer", "ravi": "reviewer", "lena": "reviewer", "ada": "admin"}
CODES = ["phone_number", "url", "promo_text"]
RULES = '''\
"""Rule functions of the dashboard test workspace."""


def review(variables):
    """Reject menu text that holds a phone number; approve the rest."""
    text = str(variables.get("text", ""))
    bad = any(ch.isdigit() for ch in text)
    return {"violations": ["phone_number"] if bad else [], "decision": "reject" if bad else "approve"}


def echo(variables):
    """Answer with the text upper-cased."""
    return {"echo": str(variables.get("text", "")).upper()}
'''
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def web_config() -> dict[str, Any]:
    """An andon.yaml (as a dict): ``menu`` decides approve/reject with reason codes; ``echo`` answers text."""
    schema = {
        "type": "object",
        "properties": {
            "violations": {"type": "array", "items": {"enum": CODES}},
            "decision": {"enum": ["approve", "reject"]},
        },
        "required": ["violations", "decision"],
    }
    return {
        "andon": 1,
        "name": "web-test",
        "currency": "KRW",
        "features": {
            "menu": {
                "description": "Menu items checked before they are published.",
                "graders": [{"type": "label", "path": "decision", "name": "decision"}],
                "versions": {
                    "v1": {"python": "web_rules:review", "output_schema": schema},
                    "v2": {"python": "web_rules:review", "output_schema": schema, "params": {"temperature": 0}},
                },
                "serve": {"data_use": {"inputs": "full"}},
            },
            "echo": {"versions": {"v1": {"python": "web_rules:echo"}}, "serve": {"routing": {"shadow": True}}},
        },
    }


def write_web_workspace(folder: Path) -> Path:
    """andon.yaml and web_rules.py in ``folder``, the declared versions promoted, and the test users added."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "andon.yaml").write_text(json.dumps(web_config(), indent=2), encoding="utf-8")
    (folder / "web_rules.py").write_text(RULES, encoding="utf-8")
    promote_declared(folder)
    with Workspace.open(folder) as ws:
        for name, role in USERS.items():
            add_user(ws.store, name, PASSWORD, role)
    return folder


def queue_items(folder: Path, texts: Sequence[str], *, feature: str = "menu") -> list[str]:
    """Queue one pending item per text with the AI's answer beside it; their ids, oldest first."""
    items = []
    start = utcnow() - timedelta(minutes=len(texts))
    for i, text in enumerate(texts):
        bad = any(ch.isdigit() for ch in text)
        answer = {"violations": ["phone_number"] if bad else [], "decision": "reject" if bad else "approve"}
        at = start + timedelta(seconds=i)  # distinct times keep "oldest first" well defined
        items.append(ReviewItem.new(feature, "stopped", input={"text": text}, suggestion_json=answer, created_at=at))
    with Workspace.open(folder) as ws:
        ws.store.add_review_items(items)
    return [item.id for item in items]


class WebServer:
    """``create_app`` (API and pages) under uvicorn in a thread, on a free port of 127.0.0.1."""

    def __init__(self, folder: Path, settings: WebSettings | None = None) -> None:
        self.folder = folder
        self.settings = settings or WebSettings(lockout=Lockout(limit=3, duration=timedelta(minutes=5)), undo_ms=400)
        self.port = free_port()
        self.ws: Workspace | None = None
        self.server: uvicorn.Server | None = None
        self.thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Self:
        self.ws = Workspace.open(self.folder)
        app = create_app(self.ws)
        app.state.web_settings = self.settings
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="on")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the dashboard server did not start")
            time.sleep(0.02)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.server is not None:
            self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout=30)
        if self.ws is not None:
            self.ws.close()


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    found = _CSRF.search(html)
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1)


def sign_in(client: httpx.Client, name: str, password: str = PASSWORD) -> httpx.Response:
    """Load the sign-in form and post it, as a browser does; the answer (303 on success)."""
    form = client.get("/signin")
    return client.post("/signin", data={"csrf_token": csrf_of(form.text), "name": name, "password": password})


@contextmanager
def signed_in(base_url: str, name: str) -> Iterator[httpx.Client]:
    """A client with ``name``'s session, closed after."""
    with httpx.Client(base_url=base_url, timeout=30) as client:
        answer = sign_in(client, name)
        assert answer.status_code == 303, answer.text
        yield client
