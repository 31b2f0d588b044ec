"""Ask a configured model for a structured answer through the one engine, its call stored with provenance.

The improvement loop and case suggestions both use it: the request is a one-step version of its own (feature
``ASSIST_FEATURE``), so the stored output names the exact messages, model and parameters that made the answer.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from andon.config.schema import Params, Step
from andon.engine.masking import MaskPolicy
from andon.engine.pipeline import Outcome, run_version
from andon.errors import ConfigError, ProviderError
from andon.messages import t
from andon.versions.canonical import PYTHON_PROVIDER, Version
from andon.workspace import Workspace

__all__ = ["ASSIST_FEATURE", "Answer", "ask_model", "pick_provider"]

ASSIST_FEATURE = "assist"  # where these calls' versions and outputs are kept, apart from the features'
MAX_TOKENS = 2048


@dataclass(frozen=True, slots=True)
class Answer:
    """The model's parsed answer, the stored output's id and who answered."""

    parsed: Any
    output_id: str
    provider: str
    model: str


def pick_provider(ws: Workspace, base: Version | None, name: str | None) -> str:
    """The provider to ask: ``name``, else the one ``base``'s model step uses, else the workspace's only model one."""
    if name is not None:
        if name not in ws.config.providers or ws.config.providers[name].type == PYTHON_PROVIDER:
            known = ", ".join(n for n, p in ws.config.providers.items() if p.type != PYTHON_PROVIDER) or "—"
            raise ConfigError(
                t("improve.provider.unknown", name=name),
                where="--provider",
                hint=t("improve.provider.known", known=known),
            )
        return name
    if base is not None:
        for step in reversed(base.steps):
            if step.python is None and step.provider:
                return step.provider
    models = [n for n, p in ws.config.providers.items() if p.type != PYTHON_PROVIDER]
    if len(models) != 1:
        raise ConfigError(
            t("improve.provider.choose", n=len(models)),
            where="--provider",
            hint=t("improve.provider.known", known=", ".join(models) or "—"),
        )
    return models[0]


async def ask_model(
    ws: Workspace,
    purpose: str,
    *,
    provider: str,
    model: str | None,
    system: str,
    prompt: str,
    schema: dict[str, Any],
    context: dict[str, Any],
    strict: bool = True,
    masking: MaskPolicy | None = None,
) -> Answer:
    """Send ``system`` and ``prompt`` (passed as values, never parsed as templates) and read the JSON answer.

    ``schema`` constrains generation; with ``strict`` the answer must match it too. ``masking`` (the feature's
    ``send: masked`` policy) masks the cases' personal data in the request as the feature's own calls are.
    A failed call or an answer that is not a matching JSON object is a ProviderError naming ``purpose``.
    """
    step = Step(
        name=purpose,
        provider=provider,
        model=model,
        system="{{ system }}",
        prompt="{{ prompt }}",
        params=Params(temperature=0, json_schema=schema, max_tokens=MAX_TOKENS),
        output_schema=schema if strict else None,
    )
    version = ws.one_step_version(ASSIST_FEATURE, purpose, step)
    await asyncio.to_thread(ws.store.register_version, ASSIST_FEATURE, purpose, version.id, version.content)
    outcome = await _run(ws, version, {"system": system, "prompt": prompt}, masking)
    record = outcome.to_record(context={"role": purpose, **context})
    await asyncio.to_thread(ws.store.save_output, record)
    if outcome.status != "ok" or not isinstance(outcome.output_json, dict):
        raise ProviderError(
            t(
                "improve.ask.failed",
                purpose=purpose,
                provider=provider,
                error=outcome.error or outcome.output_text or "—",
            ),
            where=f"{purpose} ({record.id})",
            hint=t("improve.ask.failed_hint"),
        )
    last = outcome.steps[-1]
    return Answer(outcome.output_json, record.id, last.provider, last.model)


async def _run(ws: Workspace, version: Version, variables: dict[str, Any], masking: MaskPolicy | None) -> Outcome:
    # No response cache: asking again is asking for a fresh proposal, and each answer keeps its own record.
    return await run_version(version, variables, ws, base_dir=ws.root, masking=masking)
