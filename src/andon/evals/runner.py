"""The evaluation runner: versions × cases × repeats, graded and streamed into the store as they finish.

Memory stays flat however large the dataset: cells are scheduled lazily by a fixed pool of workers and
written in small batches through a bounded queue. A run can stop cleanly (Ctrl-C, budget) and resume.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from andon.agents import run_turns
from andon.agents.trajectory import trajectory_of
from andon.config.schema import FeatureConfig, GraderSettings
from andon.config.simulated_user import SIMULATED_USER_VARIABLE
from andon.engine import mcp_tools
from andon.engine.masking import MaskPolicy
from andon.engine.mcp_pool import SessionPool
from andon.errors import AndonError
from andon.evals.dataset import Dataset
from andon.evals.donecells import DoneCells
from andon.evals.executors.base import CellJob, Executor
from andon.evals.executors.local import LocalExecutor
from andon.evals.graders import Grader, GraderContext, build_grader, grade_case
from andon.evals.graders.trajectory import trajectory_grade
from andon.evals.judging import WorkspaceServices
from andon.evals.model import RECORDED_FEATURE_FIELDS, Case, CellResult, ErrorGroup, Grade
from andon.evals.retrieval import parse_relevant, retrieval_grade, retrieved
from andon.evals.simulated import play_simulated_user, simulated_user_grade, user_call_records
from andon.evals.summarize import Conversion, ErrorTally
from andon.messages import t
from andon.store.records import OutputRecord, new_id
from andon.versions.canonical import Version
from andon.workspace import Workspace

BATCH_SIZE = 256
BATCH_SECONDS = 0.5


@dataclass(frozen=True)
class Budget:
    """Stop the run once the spend reaches ``amount`` in ``currency``."""

    amount: float
    currency: str


@dataclass
class Progress:
    """Counters the progress bar shows; updated after every cell."""

    total: int
    done: int = 0
    skipped: int = 0
    passed: int = 0
    errors: int = 0  # failed calls
    grader_errors: int = 0  # outputs a grader could not grade
    cost: float = 0.0
    cost_unknown: int = 0
    currency: str = "USD"
    started: float = field(default_factory=time.monotonic)

    @property
    def pass_rate(self) -> float:
        """Share of finished cells that passed."""
        finished = self.done - self.skipped
        return self.passed / finished if finished else 0.0


@dataclass
class RunOutcome:
    """How a run ended."""

    run_id: str
    status: str  # finished | interrupted | budget_exceeded | failed (every cell run here failed to run)
    progress: Progress
    note: str | None = None
    first_errors: list[ErrorGroup] = field(default_factory=list)


def _label_of(grades: list[Any]) -> str | None:
    for grade in grades:
        if grade.predicted is not None:
            return str(grade.predicted)
    return None


async def run_evaluation(
    ws: Workspace,
    feature: str,
    versions: list[Version],
    dataset: Dataset,
    *,
    repeats: int,
    concurrency: int = 8,
    budget: Budget | None = None,
    max_rate: float | None = None,
    use_cache: bool = True,
    run_id: str | None = None,
    stop: asyncio.Event | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    case_slice: dict[str, Any] | None = None,
    extra_config: dict[str, Any] | None = None,
    executor: Executor | None = None,
) -> RunOutcome:
    """Run (or resume, with ``run_id``) an evaluation and return how it ended.

    ``case_slice`` (``CaseSlice.to_json()``) is recorded with a new run when ``dataset`` is a slice of its file;
    ``extra_config`` (a robustness suite's pairs, the improvement loop's split) is recorded with a new run as it is;
    ``executor`` says where cells run (default: here, :class:`LocalExecutor`); this function still writes them all.
    """
    config: FeatureConfig = ws.config.features[feature]
    convert = Conversion.of(ws.config)
    graders: list[tuple[GraderSettings, Grader]] = [(spec, build_grader(spec)) for spec in config.graders]
    stop = stop or asyncio.Event()
    done = DoneCells([v.id for v in versions], [c.id for c in dataset.cases], repeats)
    # The run records version ids; reports and resumes find them in the store whatever andon.yaml says then.
    await asyncio.to_thread(ws.sync_versions, feature)
    if run_id is None:
        run_id = new_id("run")
        await asyncio.to_thread(
            ws.store.create_run,
            run_id=run_id,
            feature=feature,
            dataset=_relative(dataset, ws),
            dataset_sha256=dataset.sha256,
            repeats=repeats,
            currency=ws.config.currency,
            versions=[(v.name, v.id) for v in versions],
            cases=(c.to_json() for c in dataset.cases),  # streamed in chunks: never every case's dict at once
            config=config.model_dump(mode="json", include=set(RECORDED_FEATURE_FIELDS))
            | ({"slice": case_slice} if case_slice else {})
            | ({"guideline": dataset.guideline.to_json()} if dataset.guideline else {})
            | (extra_config or {}),
        )
    else:
        await asyncio.to_thread(lambda: done.mark_all(ws.store.iter_done_cells(str(run_id))))
        await asyncio.to_thread(ws.store.set_run_status, run_id, "running", None)

    total = len(versions) * len(dataset.cases) * repeats
    progress = Progress(total=total, currency=convert.currency)
    progress.done = progress.skipped = len(done)
    queue: asyncio.Queue[tuple[list[OutputRecord], CellResult] | None] = asyncio.Queue(maxsize=BATCH_SIZE * 4)
    ended: dict[str, str | None] = {"status": "finished", "note": None}
    interval = 1.0 / max_rate if max_rate else 0.0
    failures = ErrorTally()  # for the first errors the run reports
    next_slot = [time.monotonic()]

    def cells() -> Iterator[tuple[Version, Case, int]]:
        # Version-major order keeps one system prompt hot in a local model's prefix cache.
        for version in versions:
            for position, case in enumerate(dataset.cases):
                for repeat in range(repeats):
                    if not done.has(version.id, position, repeat):
                        yield version, case, repeat

    schedule = cells()

    async def worker() -> None:
        while not stop.is_set():
            try:
                version, case, repeat = next(schedule)
            except StopIteration:
                return
            if interval:
                slot = max(next_slot[0], time.monotonic())
                next_slot[0] = slot + interval
                await asyncio.sleep(slot - time.monotonic())
            await queue.put(await cells_on.run(version, case, repeat))

    async def flush(batch: list[tuple[list[OutputRecord], CellResult]]) -> None:
        records = [r for recs, _ in batch for r in recs]
        await asyncio.to_thread(ws.store.save_cells, records, [c for _, c in batch])
        for _, cell in batch:
            _count(progress, cell, convert)
            failures.add(cell)
        if budget is not None and progress.cost >= budget.amount and not stop.is_set():
            ended["status"] = "budget_exceeded"
            ended["note"] = (
                f"stopped at {progress.cost:.4g} {progress.currency}, the budget of {budget.amount:g} "
                f"{budget.currency}, after {progress.done} of {progress.total} cells"
            )
            stop.set()
        if on_progress is not None:
            on_progress(progress)

    async def writer() -> None:
        # Group commits: a batch is written when full or when its oldest cell has waited BATCH_SECONDS,
        # so a killed run loses at most that much work. Cells already queued are taken without waiting:
        # a timed wait (a task and a timer on Python 3.11) is paid only when the queue runs dry.
        batch: list[tuple[list[OutputRecord], CellResult]] = []
        oldest = 0.0
        finished = False
        while not finished:
            timed_out = False
            if not batch:
                item = await queue.get()
                oldest = time.monotonic()
            else:
                try:
                    item = queue.get_nowait()
                except asyncio.QueueEmpty:
                    try:
                        item = await asyncio.wait_for(queue.get(), max(0.0, oldest + BATCH_SECONDS - time.monotonic()))
                    except TimeoutError:
                        item, timed_out = None, True
            if item is not None:
                batch.append(item)
            finished = item is None and not timed_out
            if batch and (finished or len(batch) >= BATCH_SIZE or time.monotonic() - oldest >= BATCH_SECONDS):
                await flush(batch)
                batch = []

    cells_on = executor or LocalExecutor()  # named apart: worker() sees a non-optional executor
    job = CellJob(
        ws, run_id, feature, dataset, config, graders, use_cache, max(1, concurrency),
        run_cell=lambda v, c, r: _run_cell(ws, str(run_id), v, c, r, dataset, graders, config, use_cache),
    )  # fmt: skip
    try:
        await cells_on.start(job)
    except BaseException:
        await asyncio.to_thread(ws.store.set_run_status, run_id, "interrupted", "the executor did not start")
        raise
    writer_task = asyncio.create_task(writer())
    pool = SessionPool()  # the run's MCP sessions: one per server, opened once and shared by its cells (issue 14)
    context = mcp_tools.pool_context(pool)
    workers = [asyncio.create_task(worker(), context=context.copy()) for _ in range(max(1, concurrency))]
    try:
        try:
            await asyncio.gather(*workers)
        finally:
            await pool.aclose()
    except asyncio.CancelledError:
        stop.set()
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
        await queue.put(None)
        await writer_task
        await asyncio.to_thread(ws.store.set_run_status, run_id, "interrupted", "cancelled")
        raise
    finally:
        await cells_on.close()
    await queue.put(None)
    await writer_task
    if stop.is_set() and ended["status"] == "finished" and progress.done < progress.total:
        ended["status"], ended["note"] = "interrupted", f"stopped after {progress.done} of {progress.total} cells"
    ran = progress.done - progress.skipped
    errors = failures.top()
    if ended["status"] == "finished" and ran > 0 and progress.errors + progress.grader_errors == ran:
        # Nothing was measured: a failed run, whatever the criteria would say about zero successes.
        ended["status"] = "failed"
        ended["note"] = t("evals.run.all_failed", n=ran, reason=errors[0].message if errors else "")
    await asyncio.to_thread(ws.store.set_run_status, run_id, str(ended["status"]), ended["note"])
    return RunOutcome(run_id, str(ended["status"]), progress, ended["note"], errors)


def _relative(dataset: Dataset, ws: Workspace) -> str:
    path = dataset.path
    return str(path.relative_to(ws.root)) if path.is_relative_to(ws.root) else str(path)


def _count(progress: Progress, cell: CellResult, convert: Conversion) -> None:
    progress.done += 1
    progress.passed += cell.passed
    progress.errors += cell.status == "error"
    progress.grader_errors += cell.status != "error" and cell.grading_error is not None
    cost = convert(cell.cost, cell.currency)
    if cost is None:
        progress.cost_unknown += 1
    else:
        progress.cost += cost


async def _run_cell(
    ws: Workspace,
    run_id: str,
    version: Version,
    case: Case,
    repeat: int,
    dataset: Dataset,
    graders: list[tuple[GraderSettings, Grader]],
    config: FeatureConfig,
    use_cache: bool,
) -> tuple[list[OutputRecord], CellResult]:
    masking = MaskPolicy.of(config.serve.data_use)  # an evaluation sends what the gateway would send
    played = None
    if case.vars.get(SIMULATED_USER_VARIABLE) is not None:  # a simulated user plays the case: its calls kept apart
        played = await play_simulated_user(
            ws,
            version,
            case.vars,
            cache=ws.cache if use_cache else None,
            repeat=repeat,
            base_dir=dataset.folder,
            masking=masking,
        )
        outcome = played.outcome
    else:
        outcome = await run_turns(  # one call, or one per scripted turn of a multi-turn case (issue 14)
            version,
            case.vars,
            ws,
            cache=ws.cache if use_cache else None,
            repeat=repeat,
            base_dir=dataset.folder,
            masking=masking,
        )
    record = outcome.to_record(context={"run_id": run_id, "case_id": case.id, "repeat": repeat})
    user_records = [] if played is None else user_call_records(played, run_id, case.id, repeat)
    services = WorkspaceServices(ws, {"run_id": run_id, "role": "judge"}, masking)
    found = retrieved(outcome.steps)
    steps = tuple(s.to_json() for s in outcome.steps)
    context = GraderContext(
        case=case,
        output_text=outcome.output_text,
        output_json=outcome.output_json,
        status=outcome.status,
        error=outcome.error,
        services=services,
        chunks=tuple(found[0]) if found is not None else None,
        steps=steps,
    )
    grades: list[Grade]
    if outcome.status == "parked":  # a tool call waits for a person's approval: nothing to grade, no failure
        score, passed, grades = 0.0, False, []
    else:
        try:
            score, passed, grades = await grade_case(graders, context, config.pass_threshold)
        except AndonError as exc:
            score, passed, grades = 0.0, False, []
            record.error = f"grading failed: {exc}"
    if found is not None and case.relevant:
        # After the verdict and with weight 0: retrieval is measured on its own, never folded into the score.
        grades.append(retrieval_grade(found[0], parse_relevant(list(case.relevant), case.source or case.id), found[1]))
    path = trajectory_of(steps)
    if outcome.status != "parked" and (path.agentic or any(step.tools for step in version.steps)):
        # Weight 0, after the verdict: the turns it holds feed turns_per_success, never the score (issue 14).
        grades.append(trajectory_grade(path))
    if played is not None:
        grades.append(simulated_user_grade(played))  # weight 0: the user's turns and cost, never the feature's
    cell = CellResult(
        run_id=run_id,
        version_id=version.id,
        version_name=version.name,
        case_id=case.id,
        repeat=repeat,
        output_id=record.id,
        status=outcome.status,
        score=score,
        passed=passed,
        grades=grades,
        output_text=outcome.output_text,
        output_json=outcome.output_json,
        error=outcome.error,
        # Service time, not wall time: waiting behind our own concurrency is not the feature's latency.
        latency_ms=outcome.service_ms,
        input_tokens=record.input_tokens,
        output_tokens=record.output_tokens,
        cost=record.cost,
        currency=record.currency,
        cached=outcome.cached,
        predicted_label=_label_of(grades),
        expected_label=case.label,
    )
    return [record, *user_records, *services.records], cell


def now() -> datetime:
    """UTC now (one place, so tests and records agree)."""
    return datetime.now(UTC)
