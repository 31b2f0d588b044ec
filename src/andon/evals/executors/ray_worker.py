"""One Ray actor's side of a run: it opens the workspace from its path, then runs and grades cells.

Imported only inside Ray worker processes (and by the driver to name the class); it never writes cells:
it returns them, and the runner's single writer stores them.
"""

from __future__ import annotations

from pathlib import Path

from andon.config.schema import FeatureConfig
from andon.evals.dataset import Dataset
from andon.evals.executors.base import CellOutput
from andon.evals.graders import build_grader
from andon.evals.model import Case
from andon.evals.runner import _run_cell
from andon.versions.canonical import Version
from andon.workspace import Workspace


class CellWorker:
    """Runs cells of one run; many at once (an async actor), each like the local executor would."""

    def __init__(
        self, root: str, database_url: str, run_id: str, dataset: Dataset, config: FeatureConfig, use_cache: bool
    ) -> None:
        # Same machine or a shared file system: andon.yaml, the rules modules and the dataset's files are here.
        self._ws = Workspace.open(Path(root), database_url=database_url)
        self._run_id = run_id
        self._dataset = dataset
        self._config = config
        self._graders = [(spec, build_grader(spec)) for spec in config.graders]
        self._use_cache = use_cache

    async def ready(self) -> bool:
        """True once the workspace is open (the driver waits on it so a bad start fails early)."""
        return True

    async def run(self, version: Version, case: Case, repeat: int) -> CellOutput:
        """Run and grade one cell; the records go back to the driver."""
        return await _run_cell(
            self._ws, self._run_id, version, case, repeat, self._dataset, self._graders, self._config, self._use_cache
        )

    async def close(self) -> None:
        """Release providers and the store before the actor goes."""
        await self._ws.aclose_providers()
        self._ws.store.close()
