"""Routing and fallback: where an answer goes (the AI, a human, shadow review) and what happens when there is none."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from andon.config.json_values import MissingPath, lookup, parse_number, split_path
from andon.config.schema import RoutingConfig
from andon.engine.confidence import answer_confidence
from andon.engine.pipeline import Outcome
from andon.gateway.call import Call
from andon.messages import t
from andon.review.tool_approval import TOOL_APPROVAL, parked_call_of
from andon.store.watch import STOPPED_CODE
from andon.versions.canonical import Version

PolicyDecision = Literal["ai", "human"] | None


async def serve_stopped(
    call: Call,
    routing: RoutingConfig,
    reason: str | None,
    variables: dict[str, Any],
    *,
    version: Callable[[str, str], Awaitable[Version]],
    prepare: Callable[[Version, dict[str, Any]], Awaitable[dict[str, Any]]],
    run: Callable[..., Awaitable[Outcome]],
) -> None:
    """The feature is stopped: its fallback answers — the review queue, a pinned version, or nobody (``off``).

    A pinned version's trace carries its provenance, route ``fallback`` and error code ``feature_stopped``
    (why the fallback was taken); a refusal is route ``fallback``, status ``error``, the same code.
    """
    why = f"feature stopped: {reason}" if reason else "feature stopped"
    mode = routing.fallback
    if mode == "queue":
        call.route, call.status, call.review_reason = "human", "queued", "stopped"
        call.notes.append(why)
        return
    call.route, call.error_code = "fallback", STOPPED_CODE
    if mode == "off":
        call.status = "error"
        call.error = t("cordroute.stopped_off", feature=call.feature, reason=reason or "-")
        call.notes.append(f"{why}; fallback off: refused")
        return
    pinned = await version(call.feature, mode)
    call.version = pinned
    outcome = await run(call, pinned, await prepare(pinned, variables), fallback=True)
    call.served = outcome
    if outcome.status == "ok":
        call.status, call.error, call.error_code = "ok", None, STOPPED_CODE
        call.output_text, call.output_json = outcome.output_text, outcome.output_json
        call.notes.append(f"{why}; fallback: version {pinned.name}")
    else:
        call.status, call.error_code = "error", "fallback_failed"
        call.error = t("cordroute.stopped_fallback_failed", feature=call.feature, version=pinned.name,
                       error=outcome.error or "-")  # fmt: skip
        call.notes.append(f"{why}; fallback: version {pinned.name} failed")


async def fall_back(
    call: Call,
    routing: RoutingConfig,
    failed: Outcome,
    variables: dict[str, Any],
    *,
    version: Callable[[str, str], Awaitable[Version]],
    run: Callable[..., Awaitable[Outcome]],
) -> None:
    """The AI gave no answer: take the feature's fallback, and say so in the trace."""
    mode = routing.fallback
    call.served = failed
    if mode == "off":
        call.route, call.status = "ai", "error"
        call.notes.append(f"no fallback (off) after {call.error_code}")
        return
    if mode == "queue":
        call.route, call.status, call.review_reason = "fallback", "queued", "fallback"
        call.notes.append(f"fallback: review queue after {call.error_code}")
        return
    fallback = await version(call.feature, mode)
    first_code, first_error = call.error_code, call.error
    outcome = await run(call, fallback, variables, fallback=True)
    call.route, call.served = "fallback", outcome
    if outcome.status == "ok":
        call.version, call.status = fallback, "ok"
        call.output_text, call.output_json = outcome.output_text, outcome.output_json
        call.error, call.error_code = first_error, first_code
        call.notes.append(f"fallback: version {fallback.name} after {first_code}")
    else:
        call.status = "error"
        call.error = f"{first_error}; fallback version {fallback.name} failed too: {outcome.error}"
        call.error_code = "fallback_failed"
        call.notes.append(f"fallback: version {fallback.name} failed after {first_code}")


def park(call: Call, outcome: Outcome) -> None:
    """A tool call of the run waits for a person (``approval: human``): queued, the call as the suggestion."""
    pending = parked_call_of(outcome)
    call.served = outcome
    call.route, call.status, call.review_reason, call.error = "human", "queued", TOOL_APPROVAL, None
    call.output_text, call.output_json = None, pending.to_json() if pending is not None else None
    tool = pending.tool if pending is not None else "-"
    call.notes.append(t("approve14.waiting", tool=tool))


async def route(call: Call, routing: RoutingConfig, policy: Callable[..., Any] | None) -> None:
    """Send the answer to a human when a policy says so or confidence is low; shadow mode copies it."""
    answer = call.output_json if call.output_json is not None else call.output_text
    decision = await _policy(call, policy, answer)
    if decision == "human":
        call.route, call.status, call.review_reason = "human", "queued", "policy"
    elif decision is None and low_confidence(call, routing):
        call.route, call.status, call.review_reason = "human", "queued", "low_confidence"
    elif routing.shadow:
        call.route, call.review_reason = "shadow", "shadow"


async def _policy(call: Call, policy: Callable[..., Any] | None, answer: Any) -> PolicyDecision:
    if policy is None:
        return None
    try:
        if inspect.iscoroutinefunction(policy):
            verdict = await policy(call.variables, answer)
        else:
            verdict = await asyncio.to_thread(policy, call.variables, answer)
            if inspect.isawaitable(verdict):
                verdict = await verdict
    except Exception as exc:
        # A broken rule must not let unchecked answers out: a human looks at this one.
        call.notes.append(f"routing policy failed ({type(exc).__name__}: {exc}); sent to a human")
        return "human"
    if verdict not in ("ai", "human", None):
        call.notes.append(f"routing policy returned {verdict!r} (not 'ai', 'human' or None); sent to a human")
        return "human"
    return verdict  # type: ignore[no-any-return]


def fallback_version(routing: RoutingConfig) -> str | None:
    """The version ``routing.fallback`` names, or None when it is ``queue`` or ``off``."""
    return None if routing.fallback in ("queue", "off") else routing.fallback


def low_confidence(call: Call, routing: RoutingConfig) -> bool:
    """True when a confidence threshold is set and the answer's confidence is below it (or missing)."""
    if routing.min_confidence is None or routing.confidence_path is None:
        return False
    if routing.confidence_source == "logprob":
        if call.cached is not None:
            # Only answers that passed the threshold are cached (service._remember); the hit has no tokens of its own.
            call.notes.append(f"confidence of cached trace {call.cached.trace_id} was judged when it was served")
            return False
        confidence = _logprob_confidence(call, routing.confidence_path)
        missing = f"no token log-probabilities for {routing.confidence_path}; sent to a human"
    else:
        try:
            value = lookup(call.output_json, split_path(routing.confidence_path, "serve.routing.confidence_path"))
        except MissingPath:
            value = None
        confidence = parse_number(value)
        missing = f"no confidence at {routing.confidence_path}; sent to a human"
    if confidence is None:
        call.notes.append(missing)
        return True
    if confidence < routing.min_confidence:
        call.notes.append(f"confidence {confidence:g} < {routing.min_confidence:g}")
        return True
    return False


def _logprob_confidence(call: Call, path: str) -> float | None:
    """The model's probability of the answer's value at ``path``, from the served run's recorded logprobs."""
    if call.served is None:
        return None
    steps = [{"text": s.text, "logprobs": s.logprobs, "finished": s.finished} for s in call.served.steps]
    return answer_confidence(call.output_json, steps, path, where="serve.routing.confidence_path")
