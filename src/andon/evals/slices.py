"""Which cases make up each slice of a run: per tag, per expected label, per policy item (violation code).

A policy item is a code in the expected answer's list of reasons, e.g. ``expected: {violations: [phone_number]}``;
the list is the expected object's field whose values are lists of text codes (``violations`` when several are).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from andon.evals.model import Case, CellResult

__all__ = ["codes_field", "expected_codes", "predicted_codes", "slice_members"]

PREFERRED_FIELD = "violations"


def _codes(value: Any) -> tuple[str, ...] | None:
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def codes_field(cases: Iterable[Case]) -> str | None:
    """The expected answer's field listing policy codes: a list of text in every case that has it, once non-empty."""
    candidates: dict[str, bool] = {}  # field -> still a list of codes everywhere
    used: set[str] = set()
    for case in cases:
        if not isinstance(case.expected, Mapping):
            continue
        for name, value in case.expected.items():
            codes = _codes(value)
            candidates[name] = candidates.get(name, True) and codes is not None
            if codes:
                used.add(name)
    fields = [name for name, ok in candidates.items() if ok and name in used]
    if PREFERRED_FIELD in fields:
        return PREFERRED_FIELD
    return fields[0] if fields else None


def expected_codes(case: Case, field: str) -> tuple[str, ...]:
    """The policy codes a case expects (empty when it expects none or carries no list)."""
    if not isinstance(case.expected, Mapping):
        return ()
    return _codes(case.expected.get(field)) or ()


def predicted_codes(cell: CellResult, field: str) -> frozenset[str]:
    """The policy codes an answer named (empty when the answer is not an object with that list)."""
    answer = cell.output_json
    if not isinstance(answer, Mapping):
        return frozenset()
    return frozenset(_codes(answer.get(field)) or ())


def slice_members(cases: Sequence[Case], field: str | None) -> dict[tuple[str, str], set[str]]:
    """Case ids per slice ``(key, value)``: key ``tag``, ``label`` or ``violation``, in that order, values sorted."""
    found: dict[tuple[str, str], set[str]] = {}
    for case in cases:
        keys = [("tag", tag) for tag in case.tags]
        if case.label is not None:
            keys.append(("label", str(case.label)))
        if field is not None:
            keys += [("violation", code) for code in expected_codes(case, field)]
        for key in keys:
            found.setdefault(key, set()).add(case.id)
    order = {"tag": 0, "label": 1, "violation": 2}
    return dict(sorted(found.items(), key=lambda item: (order[item[0][0]], item[0][1])))
