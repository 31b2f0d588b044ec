"""`andon serve`: the gateway on uvicorn (host, port and workers from the options or andon.yaml)."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import ipaddress
import logging
import logging.config
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from andon.cli._common import open_workspace
from andon.errors import ConfigError
from andon.messages import current_language, set_language, t

if TYPE_CHECKING:
    from fastapi import FastAPI

LOG_LEVELS = ("debug", "info", "warning", "error")
log = logging.getLogger("andon.gateway")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    host: Annotated[
        str | None, typer.Option("--host", help="Address to listen on (default: gateway.host, 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None, typer.Option("--port", "-p", min=0, max=65535, help="Port (default: gateway.port, 8787).")
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option(
            "--workers",
            min=1,
            max=64,
            help="Worker processes (default: gateway.workers). Rate limits are counted per worker.",
        ),
    ] = None,
    log_json: Annotated[
        bool, typer.Option("--log-json", help="One JSON object per log line (request logs included).")
    ] = False,
    log_level: Annotated[str, typer.Option("--log-level", help="debug, info, warning or error.")] = "info",
    watch: Annotated[
        bool, typer.Option("--watch", help="Also run the watcher (monitors and the automatic cord) in this process.")
    ] = False,
    okr_sync: Annotated[
        str | None,
        typer.Option(
            "--okr-sync", metavar="EVERY", help="Also run the OKR sync every EVERY (e.g. 1h) in this process."
        ),
    ] = None,
) -> None:
    """Serve the workspace's features over HTTP (invoke, OpenAI-compatible chat, reviews, metrics).

    A request's headers must arrive within gateway.header_timeout_s (10 s) and its body within
    gateway.body_timeout_s (60 s), or the connection is closed; JSON bodies nest at most 64 levels.
    An edited andon.yaml is served from the next request on, without a restart.
    """
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    from andon.gateway.app import create_app
    from andon.gateway.logging import log_config
    from andon.gateway.timeouts import event_loop, http_implementation, protocol_factory

    if log_level.lower() not in LOG_LEVELS:
        raise ConfigError(
            t("house3.cli.log_level", level=log_level),
            where="--log-level",
            hint=t("house3.cli.log_level_hint", levels=", ".join(LOG_LEVELS)),
        )
    level = log_level.upper()
    logging_config = log_config(json_lines=log_json, level=level)
    logging.config.dictConfig(logging_config)  # the notes below come out in the same form as the request logs
    from andon.cli.okr_sync_cmds import log_result, parse_every
    from andon.okr.sync import SyncSchedule

    every_s = None if okr_sync is None else parse_every(okr_sync)
    ws = open_workspace()  # validates andon.yaml and migrates the store once, before any worker starts
    settings = ws.config.gateway
    host = host or settings.host
    port = settings.port if port is None else port
    workers = workers or settings.workers
    # Header and body read deadlines (uvicorn has none of its own); idle keep-alive connections close after 5 s.
    http = protocol_factory(settings.header_timeout_s, settings.body_timeout_s)
    loop = event_loop()  # uvloop and httptools when installed: each takes a share of the per-call CPU off
    log.info(t("gw13.serve.stack", http=http_implementation(), loop=loop))
    if not settings.auth:
        if not _is_loopback(host):
            log.warning(t("serve.auth_off_public", host=host))
    elif not ws.store.list_api_keys():
        log.warning(t("serve.no_keys"))
    log.info(
        t("serve.listening_one" if workers == 1 else "serve.listening_many", host=host, port=port, workers=workers)
    )
    # Without --watch, the outbox is still delivered here (a manual stop's or an Alertmanager pull's notifications),
    # even with no notifier yet: one added to andon.yaml while serving is followed, and its rows must go out.
    # Rollouts move on by the same loop.
    watcher = WatcherThread(ws.root, deliver_only=not watch)
    if watch:
        from andon.watch.monitors import check_monitors

        check_monitors(ws.loaded)  # a bad monitor stops the start, as a bad feature does
    watcher.start()
    okr_schedule = None if every_s is None else SyncSchedule(ws.root, every_s, on_result=log_result)
    if okr_schedule is not None:
        okr_schedule.start()  # once, in the supervising process, like the watcher
        log.info(t("okr.sync.serving", every=okr_sync))
    terminated = _ThreadSafeTermination()
    stack = contextlib.ExitStack()
    try:
        if workers == 1:
            app = create_app(ws, close_workspace=True)
            uvicorn.run(
                app,
                host=host,
                port=port,
                http=http,
                loop=loop,
                log_config=logging_config,
                access_log=False,
                log_level=level.lower(),
            )
            return
        # Worker processes build their own app: the factory and its arguments are handed to each one.
        root = ws.root
        ws.close()
        stack.enter_context(shared_metrics_dir())
        config = uvicorn.Config(
            functools.partial(worker_app, root, current_language()),
            factory=True,
            host=host,
            port=port,
            workers=workers,
            # A worker answers the supervisor's health pings only once it has imported andon and built its app,
            # which takes more than uvicorn's default 5 s on a busy 2-core machine; the supervisor would kill it.
            timeout_worker_healthcheck=WORKER_STARTUP_S,
            http=http,
            loop=loop,
            log_config=logging_config,
            access_log=False,
            log_level=level.lower(),
        )
        # uvicorn.run takes only an import string with workers; its supervisor takes a picklable factory too.
        with contextlib.suppress(KeyboardInterrupt):  # as uvicorn.run: the supervisor has stopped the workers
            Multiprocess(config, sockets=[config.bind_socket()]).run()
    except _Terminated:
        pass  # uvicorn shut down gracefully and re-raised SIGTERM: the thread is stopped below, then it is raised again
    finally:
        watcher.stop()
        if okr_schedule is not None:
            okr_schedule.stop()
        stack.close()
        terminated.restore()


WORKER_STARTUP_S = 120


@contextlib.contextmanager
def shared_metrics_dir() -> Iterator[str]:
    """A fresh directory for the workers' Prometheus values (multiprocess mode), named in their environment.

    Always a new one: values left by an earlier server would be added to this one's. Removed when serving ends.
    """
    from andon.gateway.metrics import MULTIPROC_ENV

    path = tempfile.mkdtemp(prefix="andon-metrics-")
    previous = os.environ.get(MULTIPROC_ENV)
    os.environ[MULTIPROC_ENV] = path  # the workers are spawned after this, with this environment
    try:
        yield path
    finally:
        if previous is None:
            os.environ.pop(MULTIPROC_ENV, None)
        else:
            os.environ[MULTIPROC_ENV] = previous
        shutil.rmtree(path, ignore_errors=True)


class _Terminated(Exception):
    """SIGTERM, re-raised by uvicorn after its graceful shutdown."""


class _ThreadSafeTermination:
    """Catches the SIGTERM uvicorn re-raises once it has shut down, so the watcher thread is stopped (leases given
    back, a delivery finished) before the process ends; then raises it again, so the exit status says SIGTERM."""

    def __init__(self) -> None:
        self._caught = False
        self._previous = signal.signal(signal.SIGTERM, self._handle)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self._caught = True
        raise _Terminated

    def restore(self) -> None:
        """Put the previous handler back; re-raise SIGTERM if it was caught."""
        signal.signal(signal.SIGTERM, self._previous)
        if self._caught:
            signal.raise_signal(signal.SIGTERM)


def worker_app(root: Path, language: str) -> FastAPI:
    """The app of one ``--workers`` process: the workspace at ``root``, messages in ``language``."""
    from andon.gateway.app import create_app
    from andon.gateway.metrics import worker_exited
    from andon.workspace import Workspace

    set_language(language)
    atexit.register(worker_exited, os.getpid())  # its live gauges go; its counters stay in the sums
    return create_app(Workspace.open(root), close_workspace=True)


class WatcherThread:
    """The watcher beside the gateway (`--watch`), or only its outbox delivery (without it): its own event loop
    and store connection, in one thread.

    With several workers it runs once, in the supervising process, not in every worker.
    """

    def __init__(self, root: Path, *, deliver_only: bool = False) -> None:
        self._root = root
        self._deliver_only = deliver_only  # plain `andon serve`: no monitors, only the outbox
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._main, name="andon-watch", daemon=True)

    def start(self) -> None:
        """Start watching."""
        self._thread.start()
        log.info(t("cordroute.serve_outbox" if self._deliver_only else "watch.cli.serve_watching"))

    def stop(self, timeout_s: float = 20.0) -> None:
        """Stop after the tick in progress and give the leases back."""
        self._done.set()
        self._thread.join(timeout=timeout_s)
        if not self._thread.is_alive():
            log.info(t("cordroute.thread_stopped"))

    def _main(self) -> None:
        try:
            asyncio.run(self._watch())
        except Exception:
            log.exception("the watcher stopped on an error; the gateway goes on serving")

    async def _watch(self) -> None:
        from andon.watch.reloading import watch_reloading
        from andon.workspace import Workspace

        ws = Workspace.open(self._root)
        try:
            stop = asyncio.Event()
            # Delivering only, the monitors are not even built: a broken one must not stop the notifications.
            # An edit of andon.yaml (a monitor or notifier added) is followed, as the gateway follows it.
            task = asyncio.create_task(watch_reloading(ws, stop, deliver_only=self._deliver_only))
            while not self._done.is_set() and not task.done():
                await asyncio.sleep(0.2)
            stop.set()
            await task
        finally:
            ws.store.close()


def register(app: typer.Typer) -> None:
    """Add `andon serve`."""
    app.command()(serve)
