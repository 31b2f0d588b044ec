"""The AI notice (Korea's AI Basic Act, the EU AI Act): which answers are AI-made, and the text to show.

An answer is AI-made when the AI answered it (route ai, shadow or fallback, status ok) and the feature's
``disclosure.enabled`` says so — by default, when a step that answered called a model rather than a rule.
Answers a human gives (the review queue) never carry the marker.
"""

from __future__ import annotations

from collections.abc import Mapping

from andon.config.schema import FeatureConfig
from andon.gateway.call import Call
from andon.messages import available_languages, current_language, t
from andon.versions.canonical import GUARD_PROVIDER, RULE_PROVIDERS

HEADER = "X-Andon-AI-Generated"
_AI_ROUTES = frozenset({"ai", "shadow", "fallback"})


def _model_made(call: Call) -> bool:
    """Whether a model (not a rule) made the answer: the served steps, or for a cache hit the version's."""
    if call.guard is not None and call.guard["action"] == "block":
        return False  # a guard's safe answer replaced what was made (on a fallback path: after the model answered)
    if call.served is not None:
        steps = call.served.steps
        if steps and steps[-1].provider == GUARD_PROVIDER and steps[-1].finished:
            return False  # a guard's safe answer is andon's fixed text, not a model's
        return any(step.provider not in RULE_PROVIDERS for step in steps)
    return call.version is not None and any(step.kind == "model" for step in call.version.steps)


def ai_generated(feature: FeatureConfig | None, call: Call) -> bool:
    """Whether the answer of ``call`` is marked AI-made (see the module's docstring)."""
    if call.route not in _AI_ROUTES or call.status != "ok":
        return False
    if call.served is None and call.cached is None:
        return False  # nothing answered
    enabled = feature.disclosure.enabled if feature is not None else None
    return _model_made(call) if enabled is None else enabled


def notices(feature: FeatureConfig | None) -> dict[str, str]:
    """The notice per language: andon's own in every catalogue language, replaced by the feature's text."""
    own = {code: t("trust.notice.default", language=code) for code in available_languages()}
    return {**own, **(feature.disclosure.text if feature is not None else {})}


def pick_notice(texts: Mapping[str, str], accept_language: str | None) -> str | None:
    """The notice in the first language of an ``Accept-Language`` header that has one, else the server's."""
    for item in (accept_language or "").split(","):
        code = item.split(";")[0].strip().split("-")[0].lower()
        if code in texts:
            return texts[code]
    return texts.get(current_language()) or texts.get("en") or next(iter(texts.values()), None)


__all__ = ["HEADER", "ai_generated", "notices", "pick_notice"]
