"""What a guard's decision does to a gateway call: a safe answer (block), a person now (route), or a record (flag).

The guard itself runs in the pipeline (``engine.guard``); here its decision becomes the call's route, the
review item's priority, the trace's note and tags, and — for a route — the notification written into the
outbox with the trace (``watch.outbox``), delivered at once. The decision never holds the user's text.
On the fallback paths the guard still acts: a stopped feature's calls meet the live version's input guards
(``guard_stopped``), a fallback version's own guards act like the live one's (``guard_fallback``), and the
answer a pinned version sent meets the live version's output guards (``guard_answer``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from andon.config.guard import GuardSpec
from andon.config.schema import WorkspaceConfig
from andon.engine.guard import GuardDecision, evaluate, input_texts, output_texts, pii_hits, rule_hits
from andon.engine.pipeline import Outcome
from andon.errors import ConfigError
from andon.gateway.call import Call
from andon.messages import t
from andon.store.outbox import NewNotification
from andon.store.watch import STOPPED_CODE
from andon.versions.canonical import Version
from andon.watch.notify.base import Message
from andon.watch.outbox import message_notifications

TOPIC = "guard.route"


def apply_guard(call: Call, outcome: Outcome) -> str | None:
    """Record the guard's decision on ``call`` and route it to a person when it says so; returns the action."""
    decision = outcome.guard
    if decision is None:
        return None
    call.guard = decision
    action = str(decision["action"])
    rules = ", ".join(sorted({f["rule"] for f in decision["findings"]})) or "-"
    call.notes.append(f"guard {decision['step']} ({decision['on']}): {action}: {rules}")
    if action == "route":
        call.route, call.status, call.review_reason = "human", "queued", "guard"
        call.review_priority = int(decision.get("priority", 100))
    return action


async def _screen(
    version: Version, on: str, texts: Callable[[GuardSpec], list[tuple[str, str]]]
) -> GuardDecision | None:
    """The decision of ``version``'s guards ``on`` input or output by their rules (crisis, injection, PII).

    Like the pipeline, the first guard that routes or blocks decides; else the last that flagged. A
    ``classifier`` check is not asked here: it is a model, and this runs when the feature's models are not.
    """
    flagged: GuardDecision | None = None
    for step in version.steps:
        spec = step.guard
        if spec is None or spec.on != on:
            continue
        decision = await evaluate(step.name, spec, texts(spec))
        if decision.action in ("route", "block"):
            return decision
        if decision.action == "flag":
            flagged = decision
    return flagged


async def screen_input(version: Version, variables: Mapping[str, Any]) -> GuardDecision | None:
    """The decision of ``version``'s input guards by their rules on the call's variables (see ``_screen``)."""
    return await _screen(version, "input", lambda spec: input_texts(spec, variables))


async def screen_output(version: Version, text: str | None, parsed: Any) -> GuardDecision | None:
    """The decision of ``version``'s output guards by their rules on an answer (see ``_screen``)."""
    return await _screen(version, "output", lambda _spec: output_texts(text, parsed))


def _record(call: Call, decision: GuardDecision, where: str) -> None:
    """Keep a screening's decision on ``call`` (its record, and a note without the user's text)."""
    call.guard = decision.record()
    rules = ", ".join(sorted({f.rule for f in decision.findings})) or "-"
    call.notes.append(f"guard {decision.step} ({where}): {decision.action}: {rules}")


async def guard_stopped(call: Call, variables: Mapping[str, Any]) -> str | None:
    """A stopped feature's call still meets the live version's input guards before its fallback serves it.

    The fallback (the review queue or a pinned version, often an older one without the guard) must not
    take a person at risk as an ordinary call: a route puts the call at the head of the queue with a
    notification, without asking the pinned version; a block gives the safe answer; a flag is recorded
    and the fallback goes on. Returns the action (None: nothing found).
    """
    if call.version is None:
        return None
    decision = await screen_input(call.version, variables)
    if decision is None:
        return None
    _record(call, decision, "input, feature stopped")
    if decision.action == "route":
        call.route, call.status, call.review_reason = "human", "queued", "guard"
        call.review_priority = decision.priority
    elif decision.action == "block":
        # andon's fixed text answers, as on the live path; no model made it, so no AI marker (nothing served).
        call.route, call.status, call.error, call.error_code = "fallback", "ok", None, STOPPED_CODE
        call.output_text, call.output_json = decision.answer, None
    return decision.action


async def guard_answer(call: Call, live: Version | None) -> str | None:
    """The answer a fallback version sent still meets the live version's output guards (by their rules).

    A pinned version (often older, without the guard) answers a stopped feature or one whose provider
    failed; what it says must not bypass the checks the live version runs on its own answers: a route
    hands the call to a person now (the answer kept as the reviewer's suggestion), a block sends the safe
    answer instead, a flag is recorded. Nothing is screened when another guard already routed or blocked,
    or when the live version itself answered. Returns the action (None: nothing screened or found).
    """
    served = call.served
    if live is None or served is None or served.version_id == live.id:
        return None
    if call.route != "fallback" or call.status != "ok":
        return None  # no answer is sent (a person decides, or the fallback failed too)
    if call.guard is not None and call.guard["action"] in ("route", "block"):
        return None
    decision = await screen_output(live, call.output_text, call.output_json)
    if decision is None:
        return None
    _record(call, decision, f"output of fallback version {served.version_name}")
    if decision.action == "route":
        call.route, call.status, call.review_reason = "human", "queued", "guard"
        call.review_priority = decision.priority
    elif decision.action == "block":
        # andon's fixed text replaces the model's answer: no AI marker (``gateway.disclosure``).
        call.output_text, call.output_json = decision.answer, None
    return decision.action


def guard_fallback(call: Call, failed: Outcome | None = None) -> str | None:
    """After a fallback served a call, what the guards found still acts: the failed run's input guards (a
    flag, recorded) and the fallback version's own guards (a route sends the call to a person now)."""
    action = apply_guard(call, failed) if failed is not None else None
    served = call.served
    if served is not None and served is not failed and call.route == "fallback" and call.status == "ok":
        action = apply_guard(call, served) or action
    return action


def screened_clean(version: Version, variables: Mapping[str, Any]) -> bool:
    """Whether the version's input guards find nothing by their rules, so an answer cache may serve the call.

    A cached answer skips the pipeline, guards included: a call any input rule speaks about (or one an
    input classifier must read) is always answered through the pipeline instead.
    """
    for step in version.steps:
        spec = step.guard
        if spec is None or spec.on != "input":
            continue
        if "classifier" in spec.checks:
            return False
        for check, settings in spec.checks.items():
            for _where, text in input_texts(spec, variables):
                hits = pii_hits(text, settings.kinds) if check == "pii" else rule_hits(check, text)
                if hits:
                    return False
    return True


def guard_notifications(config: WorkspaceConfig, call: Call, review_id: str | None) -> list[NewNotification]:
    """The outbox rows telling people at once that a guard handed a call to them (none when not routed)."""
    decision = call.guard
    if decision is None or decision["action"] != "route" or review_id is None or not config.notifiers:
        return []
    names = decision.get("notify")
    if names is not None and not names:
        return []
    language = config.language
    checks = ", ".join(decision["checks"]) or "-"
    values = {"feature": call.feature, "checks": checks, "review": review_id, "trace": call.trace_id,
              "priority": call.review_priority}  # fmt: skip
    message = Message(
        topic=TOPIC,
        title=t("guard.notify.title", language=language, **values),
        text=t("guard.notify.text", language=language, **values),
        fields=(
            (t("guard.notify.field.feature", language=language), call.feature),
            (t("guard.notify.field.checks", language=language), checks),
            (t("guard.notify.field.review", language=language), review_id),
        ),
        data={
            "feature": call.feature,
            "review_id": review_id,
            "trace_id": call.trace_id,
            "version_id": call.version.id if call.version else None,
            "action": "route",
            "checks": decision["checks"],
            "rules": sorted({f["rule"] for f in decision["findings"]}),
            "priority": call.review_priority,
        },
    )
    return message_notifications(config, message, subject=review_id, step="guard", notifiers=names)


def check_notifiers(config: WorkspaceConfig, feature: str, versions: Iterable[Version]) -> None:
    """Refuse a guard that notifies a notifier andon.yaml does not have (at start, not at the first crisis)."""
    for version in versions:
        for step in version.steps:
            names = step.guard.notify if step.guard is not None else None
            unknown = [n for n in names or () if n not in config.notifiers]
            if unknown:
                raise ConfigError(
                    t("guard.config.notify_unknown", names=", ".join(unknown)),
                    where=f"features.{feature}.versions.{version.name}.steps.{step.name}.guard.notify",
                    hint=t("guard.config.notify_hint", known=", ".join(config.notifiers) or "-"),
                )


__all__ = ["TOPIC", "apply_guard", "check_notifiers", "guard_answer", "guard_fallback", "guard_notifications",
           "guard_stopped", "screen_input", "screen_output", "screened_clean"]  # fmt: skip
