"""``andon.evaluate``: evaluate a feature's versions from Python the way ``andon eval`` does, and get its report.

>>> report = andon.evaluate("menu-photo-review", workspace="path/to/workspace")  # doctest: +SKIP
>>> report.gate_passed, [s.version_name for s in report.summaries]  # doctest: +SKIP

Inside a running event loop (a notebook, an async app) use ``await andon.aevaluate(...)`` instead.
"""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from andon.errors import AndonError
from andon.evals.build import build_report, feature_for_run
from andon.evals.model import RunReport
from andon.evals.plan import parse_budget, plan_run
from andon.evals.runner import Budget, run_evaluation
from andon.evals.slicing import CaseSlice
from andon.evals.summarize import Conversion
from andon.messages import t
from andon.workspace import Workspace

PathLike = str | os.PathLike[str]
P = ParamSpec("P")
R = TypeVar("R")


async def aevaluate(
    feature: str | None = None,
    *,
    workspace: Workspace | PathLike | None = None,
    versions: Sequence[str] | None = None,
    dataset: PathLike | None = None,
    repeats: int | None = None,
    limit: int | None = None,
    tags: Sequence[str] = (),
    cases: Sequence[str] = (),
    concurrency: int = 8,
    budget: Budget | str | None = None,
    max_rate: float | None = None,
    use_cache: bool = True,
    resume: str | None = None,
    with_provenance: bool = False,
) -> RunReport:
    """Run (or ``resume``) an evaluation of ``feature`` and return its report; the run is stored like any other.

    ``workspace`` is an open :class:`Workspace` (left open) or a folder (default: found from the current one).
    Versions, dataset, repeats and the slice (``limit``, ``tags``, ``cases``) default to andon.yaml's, as in
    ``andon eval``; ``budget`` is a :class:`Budget` or text such as ``"3000 KRW"``.
    """
    ws = workspace if isinstance(workspace, Workspace) else Workspace.open(_path(workspace))
    try:
        plan = plan_run(
            ws, feature, versions=list(versions) if versions else None, dataset=_path(dataset), repeats=repeats,
            resume=resume, case_slice=CaseSlice(limit, tuple(tags), tuple(cases)),
        )  # fmt: skip
        spend = parse_budget(budget, ws.config.currency) if isinstance(budget, str) else budget
        try:
            outcome = await run_evaluation(
                ws, plan.feature, plan.versions, plan.dataset, repeats=plan.repeats, concurrency=concurrency,
                budget=spend, max_rate=max_rate, use_cache=use_cache, run_id=plan.run_id,
                case_slice=None if plan.case_slice.is_whole else plan.case_slice.to_json(),
            )  # fmt: skip
        finally:
            await ws.aclose_providers()  # here: ws.close() cannot close them inside a running event loop
        run = await asyncio.to_thread(ws.store.get_run, outcome.run_id)
        return await asyncio.to_thread(
            build_report, ws.store, run, feature_for_run(run, ws.config.features.get(plan.feature)),
            Conversion.of(ws.config), workspace=ws.root, with_provenance=with_provenance,
        )  # fmt: skip
    finally:
        if ws is not workspace:
            ws.close()


def _blocking(run: Callable[P, Coroutine[Any, Any, R]], name: str, doc: str) -> Callable[P, R]:
    """``run`` as a blocking function of the same arguments, refused inside a running event loop."""

    @functools.wraps(run)
    def blocking(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise AndonError(t("house.evaluate.in_loop"), where=f"andon.{name}", hint=t("house.evaluate.in_loop_hint"))
        return asyncio.run(run(*args, **kwargs))

    blocking.__name__ = blocking.__qualname__ = name
    blocking.__doc__ = doc
    return blocking


# One signature, aevaluate's: `help(andon.evaluate)` and type checkers read it through functools.wraps.
evaluate = _blocking(
    aevaluate,
    "evaluate",
    "The blocking form of :func:`aevaluate` (same arguments); not for use inside a running event loop.",
)


def _path(value: PathLike | None) -> Path | None:
    return Path(value) if value is not None else None
