"""Working the queue side by side: each reviewer claims the item they look at, so no two decide the same one.

A claim is a short lease (renewed while the reviewer works); an abandoned item returns to the queue when its
lease ends. Deciding still goes through :func:`andon.review.queue.decide`, whose conditional update keeps a
decision final even if two deciders raced past their claims.

Reason codes are what a reviewer ticks when rejecting: the closed list of an array field in the answer's
schema (``violations: [phone_number, url, …]`` in the demo), which the decision then carries.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from andon.config.schema import FeatureConfig
from andon.errors import AndonError, ConfigError
from andon.messages import t
from andon.review import queue
from andon.review.answer import FieldPath, has_value, value_at, with_value
from andon.review.decisions import DecisionRules, RulesFor
from andon.review.queue import ReviewItem
from andon.store import Store
from andon.store.models import utcnow

LEASE = timedelta(minutes=5)


class ClaimedError(AndonError):
    """Another reviewer holds the claim on this item: they are deciding it now."""


def claim_next(
    store: Store, actor: str, feature: str | None = None, *, lease: timedelta = LEASE, skip: tuple[str, ...] = ()
) -> ReviewItem | None:
    """The oldest pending item nobody else is deciding, now claimed by ``actor``; None when the queue is empty."""
    until = utcnow() + lease
    while True:
        candidates = store.unclaimed_review_ids(actor, feature, exclude=skip)
        if not candidates:
            return None
        for review_id in candidates:
            if store.claim_review_item(review_id, actor, until=until):
                return queue.get(store, review_id)
        # Every candidate was taken between the read and the claim: read again.


def decide_claimed(
    store: Store,
    review_id: str,
    *,
    actor: str,
    decision: dict[str, Any] | None,
    label: str | None,
    comment: str | None,
    rules: RulesFor,
) -> ReviewItem:
    """Decide an item ``actor`` may decide (their claim, or nobody's); refused while another reviewer holds it."""
    item = queue.get(store, review_id)
    holder = store.review_claim(item.id)
    if holder is not None and holder[0] != actor:
        raise ClaimedError(
            t("house3.review.claimed", item=item.id, holder=holder[0]),
            hint=t("house3.review.claimed_hint"),
        )
    decided = queue.decide(store, item.id, decision=decision, label=label, comment=comment, actor=actor, rules=rules)
    store.release_review_claim(item.id, actor)
    return decided


@dataclass(frozen=True, slots=True)
class ReasonCodes:
    """Where the answer lists the reasons (e.g. ``violations``) and the codes its schema allows."""

    path: FieldPath
    codes: tuple[str, ...]


def reason_codes(rules: DecisionRules) -> ReasonCodes | None:
    """The first top-level array field of the answer's schema whose items are a closed list of text codes."""
    schema = rules.schema
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(properties, dict):
        return None
    for name, node in properties.items():
        items = node.get("items") if isinstance(node, dict) and node.get("type") in ("array", None) else None
        choices = items.get("enum") if isinstance(items, dict) else None
        if isinstance(choices, list) and choices and all(isinstance(c, str) for c in choices):
            return ReasonCodes((str(name),), tuple(choices))
    return None


def suggested_codes(item: ReviewItem, codes: ReasonCodes | None) -> list[str]:
    """The reason codes the AI gave in its answer (empty when it gave none)."""
    answer = queue.ai_answer(item)
    if codes is None or answer is None or not has_value(answer, codes.path):
        return []
    value = value_at(answer, codes.path)
    return [str(v) for v in value] if isinstance(value, list) else []


def decision_with(
    item: ReviewItem,
    feature: FeatureConfig | None,
    rules: DecisionRules,
    *,
    label: str,
    codes: list[str],
) -> dict[str, Any] | None:
    """The AI's answer with the reviewer's label and reason codes put in; every other field kept as the AI wrote it."""
    reasons = reason_codes(rules)
    unknown = [c for c in codes if reasons is None or c not in reasons.codes]
    if unknown:
        raise ConfigError(t("house3.review.codes", codes=", ".join(unknown)), where="codes")
    decision = queue.decision_for_label(label, feature, base=queue.ai_answer(item))
    if reasons is not None and (decision is not None or codes):
        decision = with_value(decision, reasons.path, list(codes))
    return decision
