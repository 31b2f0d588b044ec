"""The executor interface: where an evaluation's cells run (this process, a Ray cluster, …).

The runner keeps scheduling, rate limits, budgets and the single store writer; an executor only turns one
(version, case, repeat) into the records and the cell result the writer stores.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from andon.config.schema import FeatureConfig, GraderSettings
from andon.errors import AndonError

if TYPE_CHECKING:
    from andon.evals.dataset import Dataset
    from andon.evals.graders import Grader
    from andon.evals.model import Case, CellResult
    from andon.store.records import OutputRecord
    from andon.versions.canonical import Version
    from andon.workspace import Workspace

CellOutput = tuple[list["OutputRecord"], "CellResult"]


@dataclass(frozen=True, slots=True)
class ExecutorSettings:
    """How to reach the executor's workers: ``address`` of a cluster, ``workers`` to start (None: one per CPU)."""

    address: str | None = None
    workers: int | None = None


@dataclass(frozen=True)
class CellJob:
    """What every cell of one run shares; an executor receives it once, at :meth:`Executor.start`."""

    ws: Workspace
    run_id: str
    feature: str
    dataset: Dataset
    config: FeatureConfig
    graders: list[tuple[GraderSettings, Grader]]
    use_cache: bool
    concurrency: int
    run_cell: Callable[[Version, Case, int], Awaitable[CellOutput]]  # the runner's own: what runs a cell here


class Executor(ABC):
    """Runs an evaluation's cells; ``start`` once per run, then ``run`` per cell (concurrently), then ``close``."""

    name: ClassVar[str]

    def __init__(self, settings: ExecutorSettings | None = None) -> None:
        self.settings = settings or ExecutorSettings()

    def check(self) -> None:  # noqa: B027 - optional hook
        """Fail now, with a clear error, if cells could not run (called before a run is recorded)."""

    async def start(self, job: CellJob) -> None:  # noqa: B027 - optional hook: a local executor needs no setup
        """Prepare the workers for ``job``'s cells."""

    @abstractmethod
    async def run(self, version: Version, case: Case, repeat: int) -> CellOutput:
        """Run and grade one cell; return its output records (the call's, then any judge's) and its result."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release the workers; called once the run's cells are done, stopped or cancelled."""


class ExecutorError(AndonError):
    """An executor cannot run cells: its package is missing, its cluster does not answer, a worker died."""
