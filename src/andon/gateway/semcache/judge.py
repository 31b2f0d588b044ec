"""Judges: a model that confirms a semantic hit (one answer serves both requests) before it is served."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from andon.config.schema import Params, Step
from andon.errors import ConfigError
from andon.messages import t
from andon.versions.canonical import Version

if TYPE_CHECKING:
    from andon.engine.pipeline import Outcome
    from andon.workspace import Workspace

Judge = Callable[[str, str], Awaitable[bool]]
"""``async judge(request_text, cached_text) -> bool``: True confirms that one answer serves both requests."""
_log = logging.getLogger(__name__)

JUDGE_FEATURE = "cache-judge"
JUDGE_SYSTEM = (
    "You guard an answer cache. Two user requests are the same only if one answer serves both exactly: "
    "the same people or things in the same roles (who does what to whom), the same numbers, dates, places "
    "and directions, and the same negation. Korean and English requests are judged alike. "
    'Reply with JSON only: {"same": true} or {"same": false}.'
)
JUDGE_PROMPT = "Request A:\n{{ request }}\n\nRequest B:\n{{ cached }}"
JUDGE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"same": {"type": "boolean"}},
    "required": ["same"],
    "additionalProperties": False,
}
_YES = ("yes", "true", "same", "예", "네", "같")
_NO = ("no", "false", "different", "아니", "다르", "다름")


def workspace_judge(ws: Workspace, ref: str) -> Judge:
    """A judge from ``cache.judge``: a provider name (built-in prompt) or ``FEATURE:VERSION`` (your own).

    A ``FEATURE:VERSION`` judge receives the variables ``request`` and ``cached`` and answers yes/no text,
    ``true``/``false`` or ``{"same": bool}``. Every judge call is stored as an output, with its provenance.
    """
    version = _judge_version(ws, ref)

    async def judge(request_text: str, cached_text: str) -> bool:
        from andon.engine.pipeline import run_version

        outcome = await run_version(version, {"request": request_text, "cached": cached_text}, ws, base_dir=ws.root)
        record = outcome.to_record(context={"purpose": "cache-judge", "judge": ref})
        await asyncio.to_thread(ws.store.save_output, record)
        return judge_verdict(outcome)

    return judge


def judges_for(ws: Workspace) -> dict[str, Judge]:
    """One judge per feature whose ``serve.cache.judge`` is set (built now, so a bad name fails at start)."""
    built: dict[str, Judge] = {}
    by_ref: dict[str, Judge] = {}
    for feature, spec in ws.config.features.items():
        ref = spec.serve.cache.judge
        if ref is None or not spec.serve.cache.enabled:
            continue
        if ref not in by_ref:
            by_ref[ref] = workspace_judge(ws, ref)
        built[feature] = by_ref[ref]
    return built


def judge_verdict(outcome: Outcome) -> bool:
    """True only when the judge clearly said "same"; errors and unclear answers count as "different"."""
    if outcome.status != "ok":
        return False
    parsed = outcome.output_json
    if isinstance(parsed, bool):
        return parsed
    if isinstance(parsed, dict):
        for name in ("same", "match", "equivalent", "answer"):
            if isinstance(parsed.get(name), bool):
                return bool(parsed[name])
    text = (outcome.output_text or "").strip().strip("\"'`.").lower()
    if text.startswith(_NO):
        return False
    return text.startswith(_YES)


def _judge_version(ws: Workspace, ref: str) -> Version:
    where = "serve.cache.judge"
    if ":" in ref:
        feature, _, name = ref.partition(":")
        if not feature or not name:
            raise ConfigError(t("house3.judge.ref", ref=ref), where=where, hint=t("house3.judge.ref_hint"))
        return ws.version(feature, name)
    if ref not in ws.config.providers:
        known = ", ".join(ws.config.providers) or t("house3.outbox.none")
        raise ConfigError(
            t("house3.judge.no_provider", ref=ref),
            where=where,
            hint=t("house3.judge.no_provider_hint", known=known),
        )
    step = Step(
        provider=ref,
        system=JUDGE_SYSTEM,
        prompt=JUDGE_PROMPT,
        params=Params(temperature=0, max_tokens=16, json_schema=JUDGE_SCHEMA),
    )
    return ws.one_step_version(JUDGE_FEATURE, ref, step)


async def confirmed(judge: Judge, request_text: str, cached_text: str) -> bool:
    """Whether ``judge`` confirms the hit; a judge that fails has not."""
    try:
        return bool(await judge(request_text, cached_text))
    except Exception:  # a judge that cannot answer has not confirmed: no hit
        _log.warning("cache judge failed; the semantic hit is refused", exc_info=True)
        return False
