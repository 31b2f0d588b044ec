"""Step kinds run outside the engine's own floor: a registry of ``async (step, scope, providers) -> StepRecord``.

The engine knows only the names; a floor-7 package (knowledge) implements the step, so the engine never
imports upward.
"""

from __future__ import annotations

from andon.plugins import Registry

STEP_KINDS = Registry(
    group="andon.step_kinds",
    kind="step kind",
    builtins={"retrieve": "andon.knowledge.step:run_retrieve"},
)
