"""The Ray executor: cells spread over actors on a Ray cluster; the runner here still writes every cell.

Each actor opens the workspace from its path (same machine or a shared file system), runs cells and returns
their records; so the store sees one writer, and a run started here resumes on either executor.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import socket
from types import ModuleType
from typing import Any

from andon.errors import AndonError
from andon.evals.executors.base import CellJob, CellOutput, Executor, ExecutorError, ExecutorSettings
from andon.evals.model import Case
from andon.messages import t
from andon.versions.canonical import Version

CONNECT_SECONDS = 3.0  # a TCP probe of the cluster's port, before ray.init (which would retry for a minute)
READY_SECONDS = 120.0  # actors import andon and open the workspace
CLOSE_SECONDS = 10.0


def import_ray() -> ModuleType:
    """The ``ray`` module, or an error naming the extra that installs it."""
    try:
        import ray
    except ImportError as exc:
        raise ExecutorError(
            t("executor.ray.missing", error=exc), where="--executor", hint=t("executor.ray.missing_hint")
        ) from None
    return ray


def probe(address: str) -> None:
    """Fail at once, naming ``address``, unless something listens on its port ("auto" is left to Ray)."""
    if address == "auto":
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ExecutorError(t("executor.ray.bad_address", address=address), where="--address")
    try:
        with socket.create_connection((host, int(port)), timeout=CONNECT_SECONDS):
            pass
    except OSError as exc:
        raise _unreachable(address, exc) from None


def _unreachable(address: str, exc: BaseException) -> ExecutorError:
    port = address.rpartition(":")[2] if address != "auto" else "6379"
    return ExecutorError(
        t("executor.ray.unreachable", address=address, error=exc),
        where="--address",
        hint=t("executor.ray.unreachable_hint", port=port),
    )


class RayExecutor(Executor):
    """Runs cells on a Ray cluster's actors (``settings.workers`` of them, default one per CPU)."""

    name = "ray"

    def __init__(self, settings: ExecutorSettings | None = None) -> None:
        super().__init__(settings)
        self._ray: ModuleType | None = None
        self._actors: list[Any] = []
        self._inflight: list[int] = []

    @property
    def address(self) -> str:
        """The cluster's address: ``--address``, else RAY_ADDRESS, else a cluster already running here."""
        return self.settings.address or os.environ.get("RAY_ADDRESS", "").strip() or "auto"

    def check(self) -> None:
        """Ray is importable and the cluster answers (before a run is recorded)."""
        import_ray()
        probe(self.address)

    async def start(self, job: CellJob) -> None:
        """Connect to the cluster and start the actors, each opening the workspace."""
        self.check()
        ray = self._ray = import_ray()
        from andon.evals.executors.ray_worker import CellWorker

        try:
            ray.init(
                address=self.address, namespace="andon", log_to_driver=False, logging_level=logging.WARNING,
                configure_logging=False,
            )  # fmt: skip
        except (ConnectionError, RuntimeError) as exc:
            raise _unreachable(self.address, exc) from None
        cpus = float(ray.cluster_resources().get("CPU", 1.0))
        count = self.settings.workers or max(1, int(cpus))
        remote = ray.remote(CellWorker).options(
            num_cpus=min(1.0, cpus / count), max_concurrency=max(1, job.concurrency), scheduling_strategy="SPREAD"
        )
        url = job.ws.store.engine.url.render_as_string(hide_password=False)
        # Only the folder of the dataset is needed over there: cases travel one by one with their cells.
        dataset = dataclasses.replace(job.dataset, cases=[])
        self._actors = [
            remote.remote(str(job.ws.root), url, job.run_id, dataset, job.config, job.use_cache) for _ in range(count)
        ]
        self._inflight = [0] * count
        try:
            await asyncio.wait_for(asyncio.gather(*(a.ready.remote() for a in self._actors)), READY_SECONDS)
        except Exception as exc:
            await self.close()
            raise ExecutorError(
                t("executor.ray.worker_failed", root=job.ws.root, error=_cause(exc)),
                hint=t("executor.ray.worker_failed_hint"),
            ) from None

    async def run(self, version: Version, case: Case, repeat: int) -> CellOutput:
        """Run the cell on the actor with the fewest cells in flight."""
        ray = self._ray
        assert ray is not None and self._actors, "start() comes first"
        index = min(range(len(self._actors)), key=self._inflight.__getitem__)
        self._inflight[index] += 1
        try:
            result: CellOutput = await self._actors[index].run.remote(version, case, repeat)
            return result
        except ray.exceptions.RayTaskError as exc:
            cause = _cause(exc)
            raise cause if isinstance(cause, AndonError) else exc from None  # the cell's own error, as locally
        except ray.exceptions.RayActorError as exc:
            raise ExecutorError(t("executor.ray.worker_died", case=case.id, repeat=repeat, error=exc)) from None
        finally:
            self._inflight[index] -= 1

    async def close(self) -> None:
        """Let each actor close its workspace, then stop the actors and leave the cluster."""
        ray, actors = self._ray, self._actors
        self._actors, self._inflight = [], []
        if ray is None or not ray.is_initialized():
            return
        if actors:
            closing = asyncio.gather(*(a.close.remote() for a in actors), return_exceptions=True)
            with contextlib.suppress(TimeoutError):  # killed below either way
                await asyncio.wait_for(closing, CLOSE_SECONDS)
        for actor in actors:
            ray.kill(actor)
        ray.shutdown()


def _cause(exc: BaseException) -> BaseException:
    """The exception a Ray task raised (Ray wraps it), else ``exc`` itself."""
    cause = getattr(exc, "cause", None)
    return cause if isinstance(cause, BaseException) else exc
