"""What a guard's decision does to a gateway call: a safe answer (block), a person now (route), or a record (flag).

The guard itself runs in the pipeline (``engine.guard``); here its decision becomes the call's route, the
review item's priority, the trace's note and tags, and — for a route — the notification written into the
outbox with the trace (``watch.outbox``), delivered at once. The decision never holds the user's text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from andon.config.schema import WorkspaceConfig
from andon.engine.guard import input_texts, pii_hits, rule_hits
from andon.engine.pipeline import Outcome
from andon.errors import ConfigError
from andon.gateway.call import Call
from andon.messages import t
from andon.store.outbox import NewNotification
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


__all__ = ["TOPIC", "apply_guard", "check_notifiers", "guard_notifications", "screened_clean"]
