"""Step kinds run outside the engine's own floor: a registry of ``async (step, scope, providers) -> StepRecord``.

The engine knows only the names; a floor-7 package (knowledge) implements the step, so the engine never
imports upward.
"""

from __future__ import annotations

from typing import Any, Protocol

from andon.config.schema import Step
from andon.plugins import Registry


class StepRunner(Protocol):
    """Runs one step of a registered kind with the run's variables and providers; returns its StepRecord.

    The record's type lives in engine.pipeline, which imports this module, so it is ``Any`` here.
    """

    async def __call__(self, step: Step, scope: dict[str, Any], providers: Any) -> Any: ...


STEP_KINDS = Registry(
    group="andon.step_kinds",
    kind="step kind",
    # "flow" runs a whole flow version instead: ``await run(version, scope, providers, outcome, base_dir=…, masker=…)``.
    builtins={"retrieve": "andon.knowledge.step:run_retrieve", "flow": "andon.agents.flow:run_flow"},
)
