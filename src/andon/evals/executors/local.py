"""The local executor: cells run on this process's event loop (andon's behaviour before executors)."""

from __future__ import annotations

from andon.evals.executors.base import CellJob, CellOutput, Executor
from andon.evals.model import Case
from andon.versions.canonical import Version


class LocalExecutor(Executor):
    """Runs each cell here, as one asyncio task among the runner's workers."""

    name = "local"

    _job: CellJob | None = None

    async def start(self, job: CellJob) -> None:
        """Keep the run's shared parts."""
        self._job = job

    async def run(self, version: Version, case: Case, repeat: int) -> CellOutput:
        """Run and grade the cell in this process."""
        job = self._job
        assert job is not None, "start() comes first"
        return await job.run_cell(version, case, repeat)
