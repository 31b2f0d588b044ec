"""The review queue: items waiting for a human decision (with the AI's suggestion), and deciding them."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Literal, Protocol

from andon.config.graders import LabelSettings
from andon.config.json_values import MissingPath, lookup, split_path
from andon.config.schema import FeatureConfig
from andon.errors import AndonError, ConfigError
from andon.evals.graders.values import as_text
from andon.messages import t
from andon.review.answer import parse_answer, with_value
from andon.store import Store
from andon.store.records import ReviewItem as ReviewItem  # the queue's noun; a plain record of the store

ReviewReason = Literal["stopped", "low_confidence", "policy", "shadow", "fallback", "guard", "tool_approval"]
ReviewStatus = Literal["pending", "decided"]
MAX_LABEL = 200  # the label column's width
MAX_COMMENT = 10_000
MAX_ACTOR = 200


class DecisionCheck(Protocol):
    """What a feature requires of a decision (:class:`andon.review.decisions.DecisionRules` is the one)."""

    def check(self, decision: dict[str, Any] | None, label: str | None) -> tuple[str | None, dict[str, Any] | None]:
        """(label, decision) in the known spellings, or an error naming the field."""
        ...


class AlreadyDecidedError(AndonError):
    """The review item was decided before (by someone else, or a moment ago): decisions are final."""


RulesFor = Callable[[ReviewItem], DecisionCheck]  # the rules of an item's feature and version


def list_items(
    store: Store, feature: str | None = None, *, status: str | None = "pending", limit: int = 100
) -> list[ReviewItem]:
    """Items by priority (a guard's route first), then oldest first (pending ones by default; ``status=None``: all)."""
    if status not in (None, "pending", "decided"):
        raise ConfigError(t("house2.review.status", status=status), hint=t("house2.review.status_hint"))
    return [ReviewItem.from_row(r) for r in store.list_review_items(feature, status=status, limit=limit)]


def get(store: Store, ref: str) -> ReviewItem:
    """The item with id ``ref`` (or a unique prefix of at least 6 characters)."""
    return ReviewItem.from_row(store.get_review_item(ref))


def decide(
    store: Store,
    review_id: str,
    *,
    decision: dict[str, Any] | None,
    label: str | None,
    comment: str | None,
    actor: str,
    rules: RulesFor | None = None,
    tool_approval: bool = False,
) -> ReviewItem:
    """Record a human decision (a JSON object, a label, or both); refuses an item that was decided already.

    ``rules`` (:func:`andon.review.decisions.rules_of`) check the decision against the item's feature — its
    known labels and output schema — and give labels their known spelling. Every face passes them.
    A parked tool call (reason ``tool_approval``) is decided only through review.tool_approval, which resumes it.
    """
    label = _check_label(label)
    if decision is not None and not isinstance(decision, dict):
        raise ConfigError(
            t("house2.review.decision_type", type=type(decision).__name__),
            where="decision",
            hint=t("house2.review.decision_type_hint"),
        )
    if decision is None and label is None:
        raise ConfigError(t("house2.review.decision_empty"), hint=t("house2.review.decision_empty_hint"))
    if decision is not None:
        _check_json(decision)
    if comment is not None and len(comment) > MAX_COMMENT:
        raise ConfigError(
            t("house2.text.too_long", what=t("house2.text.comment"), n=len(comment), limit=MAX_COMMENT), where="comment"
        )
    if comment is not None and "\x00" in comment:
        raise ConfigError(
            t("house2.text.nul", what=t("house2.text.comment")), where="comment", hint=t("house2.text.nul_hint")
        )
    actor = actor.strip()
    if not actor or len(actor) > MAX_ACTOR:
        raise ConfigError(t("house2.review.actor", limit=MAX_ACTOR), where="actor", hint=t("house2.review.actor_hint"))
    item = get(store, review_id)  # resolves prefixes and says clearly when the id is unknown
    if (item.reason == "tool_approval") != tool_approval and item.status == "pending":
        key = "approve14.use_approve" if item.reason == "tool_approval" else "approve14.not_tool_item"
        raise ConfigError(t(key, id=item.id, reason=item.reason), hint=t("approve14.decide_hint"))
    if item.status != "decided" and rules is not None:
        label, decision = rules(item).check(decision, label)
    won, row = store.decide_review_item(item.id, decision=decision, label=label, comment=comment, actor=actor)
    decided = ReviewItem.from_row(row)
    if not won:
        when = decided.decided_at.isoformat(timespec="seconds") if decided.decided_at else t("house2.review.earlier")
        what = (
            t("house2.review.what_label", label=decided.label)
            if decided.label is not None
            else t("house2.review.what_decision", decision=_short(decided.decision))
        )
        raise AlreadyDecidedError(
            t("house2.review.decided", id=decided.id, by=decided.decided_by, when=when, what=what),
            hint=t("house2.review.decided_hint"),
        )
    return decided


def ai_answer(item: ReviewItem) -> dict[str, Any] | None:
    """The AI's answer as a JSON object (the parsed output, else its text when that is one), or None."""
    return parse_answer(item.suggestion_json, item.suggestion_text)


def label_choices(feature: FeatureConfig | None) -> list[str]:
    """Known labels of the feature's ``label`` grader (``options.labels``), if it lists them."""
    spec = _label_grader(feature)
    labels = spec.options.labels if spec is not None else None
    return [str(x) for x in labels] if labels is not None else []


def suggested_label(item: ReviewItem, feature: FeatureConfig | None) -> str | None:
    """The label the AI suggested: its output at the label grader's path, else a short one-line answer."""
    spec = _label_grader(feature)
    answer = item.suggestion_json
    if answer is None and item.suggestion_text is not None:
        try:
            answer = json.loads(item.suggestion_text)
        except ValueError:
            answer = None
    if spec is not None and spec.path and answer is not None:
        try:
            value = lookup(answer, split_path(spec.path, "label grader path"))
        except MissingPath:
            return None
        return as_text(value).strip() or None
    text = (item.suggestion_text or "").strip()
    if text and "\n" not in text and len(text) <= 60:
        return text
    return None


def decision_for_label(
    label: str, feature: FeatureConfig | None, base: dict[str, Any] | None = None
) -> dict[str, Any] | None:
    """``base`` (the AI's answer) with ``label`` at the label grader's path, every other field kept.

    Without a base, a minimal object carrying only the label; None when the grader has no path.
    """
    spec = _label_grader(feature)
    if spec is None or not spec.path:
        return None
    parts = split_path(spec.path, "label grader path")
    if base is None and any(p.lstrip("-").isdigit() for p in parts):
        return None  # a list index cannot be rebuilt into an object
    try:
        return with_value(base, parts, label)
    except (IndexError, ValueError):
        return None  # the base has a list where the path needs an index it lacks


def label_path(feature: FeatureConfig | None) -> tuple[str, ...] | None:
    """Where the label grader reads the label in an answer (None: no grader, or it reads the whole text)."""
    spec = _label_grader(feature)
    return split_path(spec.path, "label grader path") if spec is not None and spec.path else None


def _label_grader(feature: FeatureConfig | None) -> LabelSettings | None:
    if feature is None:
        return None
    return next((g for g in feature.graders if isinstance(g, LabelSettings) and not g.negated), None)


def _check_label(label: str | None) -> str | None:
    if label is None:
        return None
    label = label.strip()
    if not label:
        return None
    if len(label) > MAX_LABEL:
        raise ConfigError(
            t("house2.text.too_long", what=t("house2.text.label"), n=len(label), limit=MAX_LABEL), where="label"
        )
    if "\x00" in label:
        raise ConfigError(
            t("house2.text.nul", what=t("house2.text.label")), where="label", hint=t("house2.text.nul_hint")
        )
    return label


def _check_json(value: Any) -> None:
    try:
        # UTF-8 too: a lone surrogate (\ud800) is not text any store can keep
        json.dumps(value, allow_nan=False, ensure_ascii=False).encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise ConfigError(t("house2.review.not_json", error=exc), where="decision") from None


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"
