"""Live AI-versus-human agreement: review items a person decided that carry the AI's own answer (shadow traffic,
low confidence, a policy), compared at one field of the answer (or the whole answer)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import or_, select

from andon.store._base import StoreBase
from andon.store.models import ReviewItemRow

JsonPath = tuple[str | int, ...]
_MISSING = object()


def _at(value: Any, path: JsonPath) -> Any:
    for part in path:
        if isinstance(part, int) and isinstance(value, list) and -len(value) <= part < len(value):
            value = value[part]
        elif isinstance(value, dict) and str(part) in value:
            value = value[str(part)]
        else:
            return _MISSING
    return value


def _same(a: Any, b: Any) -> bool:
    # A label read from JSON and one typed by a reviewer compare case- and space-insensitively.
    if isinstance(a, str) and isinstance(b, str):
        return a.strip().casefold() == b.strip().casefold()
    return bool(a == b)


class AgreementMixin(StoreBase):
    """Agreement of human decisions with the AI's suggestions, over a window of decision times."""

    def review_agreement(self, feature: str, start: datetime, end: datetime, path: JsonPath = ()) -> tuple[int, int]:
        """(agreeing, compared): items decided in [start, end) whose AI answer and decision both have ``path``."""
        query = select(
            ReviewItemRow.suggestion_json, ReviewItemRow.suggestion_text, ReviewItemRow.decision, ReviewItemRow.label
        ).where(
            ReviewItemRow.feature == feature,
            ReviewItemRow.status == "decided",
            ReviewItemRow.decided_at >= start,
            ReviewItemRow.decided_at < end,
            or_(ReviewItemRow.suggestion_json.is_not(None), ReviewItemRow.suggestion_text.is_not(None)),
        )
        agree = compared = 0
        with self._read() as session:
            for suggestion_json, suggestion_text, decision, label in session.execute(query):
                ai = _at(suggestion_json, path) if suggestion_json is not None else _MISSING
                if ai is _MISSING and not path:
                    ai = suggestion_text
                human = _at(decision, path) if decision is not None else _MISSING
                if human is _MISSING and label is not None:
                    human = label  # a decision given as a label only
                if ai is _MISSING or human is _MISSING or ai is None or human is None:
                    continue
                compared += 1
                agree += _same(ai, human)
        return agree, compared
