"""Reload on change: the gateway notices an edited andon.yaml and serves new requests with the new config.

Each config in service is a :class:`Generation` (a workspace over the shared store, and its gateway). Every
request is pinned to the generation current when it arrived (:class:`PinGeneration`), so a call in flight
finishes on the config it started with; a replaced generation is closed once its last request is done.
An edit that does not validate keeps the current generation, is logged with its file:line, and shows in
``/readyz`` until andon.yaml is valid again.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from andon.config.loader import load_config
from andon.errors import AndonError
from andon.messages import t
from andon.workspace import Workspace

if TYPE_CHECKING:
    from andon.gateway.service import Gateway

__all__ = ["ConfigReloader", "Generation", "PinGeneration", "gateway_of", "workspace_of"]

log = logging.getLogger("andon.gateway")

CHECK_INTERVAL_S = 2.0
DRAIN_TIMEOUT_S = 600.0  # a replaced config's calls get this long to finish before it is closed anyway
# Settings read when the server starts (sockets, processes, middleware): a change needs a restart.
RESTART_SETTINGS = ("host", "port", "workers", "auth", "max_request_bytes", "cors_origins")
_PINNED = "andon_generation"

BuildGateway = Callable[[Workspace], "Gateway"]


@dataclass(eq=False)
class Generation:
    """One config in service: its workspace (sharing the store), its gateway, and the requests it serves."""

    workspace: Workspace
    gateway: Gateway
    digest: str
    in_flight: int = 0
    idle: asyncio.Event = field(default_factory=asyncio.Event)

    def enter(self) -> None:
        """A request pinned to this generation started."""
        self.in_flight += 1
        self.idle.clear()

    def leave(self) -> None:
        """A request pinned to this generation ended."""
        self.in_flight -= 1
        if self.in_flight == 0:
            self.idle.set()


def digest_of(path: Path) -> str | None:
    """sha256 of the file's bytes; None while it is missing (an editor replacing it, say)."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


class ConfigReloader:
    """Checks andon.yaml every ``interval_s``; swaps in a validated new config, keeps the old one on errors."""

    def __init__(
        self, state: Any, first: Generation, build: BuildGateway, *, interval_s: float = CHECK_INTERVAL_S
    ) -> None:
        self._state = state  # the app's state: `workspace` and `gateway` always name the current generation
        self.current = first
        self._build = build
        self._interval_s = interval_s
        self._rejected: str | None = None  # digest of the last invalid edit, so it is logged once
        self.error: AndonError | None = None
        self._task: asyncio.Task[None] | None = None
        self._retiring: set[asyncio.Task[None]] = set()
        state.reloader = self

    @classmethod
    def starting(cls, state: Any, workspace: Workspace, gateway: Gateway, build: BuildGateway) -> ConfigReloader:
        """A reloader whose first generation is the config the server started with."""
        digest = digest_of(workspace.loaded.path) or ""
        return cls(state, Generation(workspace, gateway, digest), build)

    @property
    def path(self) -> Path:
        """The andon.yaml being watched."""
        return self.current.workspace.loaded.path

    def status(self) -> dict[str, Any]:
        """For ``/readyz``: the file watched and the last rejected edit (None when the file in use is current)."""
        error = None if self.error is None else {"where": self.error.where, "message": self.error.message}
        return {"path": str(self.path), "error": error}

    async def start(self) -> None:
        """Start checking in the background."""
        if self._task is None:
            self._task = asyncio.create_task(self._watch(), name="andon-config-reload")

    async def stop(self) -> None:
        """Stop checking and close every replaced generation (the current one is the caller's to close)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._retiring:
            await asyncio.gather(*self._retiring, return_exceptions=True)

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            try:
                await self.check()
            except Exception:  # a reload must never take the server down; the old config keeps serving
                log.exception("andon.yaml reload failed")

    async def check(self) -> bool:
        """Reload if andon.yaml changed since the config in use; True when a new config was swapped in."""
        digest = await asyncio.to_thread(digest_of, self.path)
        if digest is None or digest == self.current.digest:
            if digest == self.current.digest and self.error is not None:
                self.error, self._rejected = None, None  # edited back to the config in use
            return False
        if digest == self._rejected:
            return False
        try:
            generation = await self._load(digest)
        except AndonError as exc:
            self.error, self._rejected = exc, digest
            where = f"{exc.where}: " if exc.where else ""
            log.error(t("polish.reload.rejected", error=f"{where}{exc.message}"))
            return False
        old, self.current = self.current, generation
        self.error, self._rejected = None, None
        self._state.workspace, self._state.gateway = generation.workspace, generation.gateway
        self._note_restart_settings(old.workspace, generation.workspace)
        log.info(t("polish.reload.done", path=self.path, features=", ".join(generation.workspace.config.features)))
        task = asyncio.create_task(self._retire(old), name="andon-config-retire")
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)
        return True

    async def _load(self, digest: str) -> Generation:
        """Validate the edited file and start a gateway on it; any problem raises and nothing changes."""
        loaded = await asyncio.to_thread(load_config, self.path)
        workspace = Workspace(loaded, self.current.workspace.store)
        gateway = self._build(workspace)
        await gateway.start()  # checks routing policies, live and fallback versions
        return Generation(workspace, gateway, digest)

    async def _retire(self, old: Generation) -> None:
        """Close a replaced generation once its requests are done: its traces committed, its providers released."""
        if old.in_flight:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(old.idle.wait(), DRAIN_TIMEOUT_S)
        await old.gateway.stop()
        await old.workspace.aclose_providers()

    def _note_restart_settings(self, old: Workspace, new: Workspace) -> None:
        changed = [
            name for name in RESTART_SETTINGS if getattr(old.config.gateway, name) != getattr(new.config.gateway, name)
        ]
        if changed:
            log.warning(t("polish.reload.restart", settings=", ".join(f"gateway.{n}" for n in changed)))


class PinGeneration:
    """ASGI middleware: pins each request to the generation current when it arrived, and counts it there."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        reloader: ConfigReloader | None = getattr(scope["app"].state, "reloader", None)
        if scope["type"] != "http" or reloader is None:
            await self.app(scope, receive, send)
            return
        generation = reloader.current
        scope.setdefault("state", {})[_PINNED] = generation
        generation.enter()
        try:
            await self.app(scope, receive, send)
        finally:
            generation.leave()


def _pinned(request: Request) -> Generation | None:
    generation: Generation | None = getattr(request.state, _PINNED, None)
    return generation


def gateway_of(request: Request) -> Gateway:
    """The gateway serving this request (its pinned generation's, else the app's)."""
    generation = _pinned(request)
    gateway: Gateway = generation.gateway if generation is not None else request.app.state.gateway
    return gateway


def workspace_of(request: Request) -> Workspace:
    """The workspace (config) serving this request."""
    generation = _pinned(request)
    workspace: Workspace = generation.workspace if generation is not None else request.app.state.workspace
    return workspace
