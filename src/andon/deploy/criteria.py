"""The criteria a judgement used, in a canonical form with a hash: what a run and a promotion record.

Two ways of writing the same thresholds (``accuracy >= 90%`` and ``accuracy>=0.9``, in any order) have
the same hash; any change of a metric, operator, threshold, currency or ``strict`` changes it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from andon.config.criteria import parse_criterion


def criteria_record(criteria: Sequence[str], strict: bool) -> dict[str, Any]:
    """The criteria as written plus ``strict``: the plain record stored with a promotion."""
    return {"criteria": [text.strip() for text in criteria], "strict": bool(strict)}


def recorded_criteria(config: Mapping[str, Any]) -> dict[str, Any] | None:
    """The criteria recorded in a run's ``config``, or None when the run recorded none (it predates them)."""
    criteria = config.get("criteria")
    if not isinstance(criteria, list) or not all(isinstance(c, str) for c in criteria):
        return None
    return criteria_record(criteria, bool(config.get("strict", False)))


def criteria_sha256(record: Mapping[str, Any]) -> str:
    """The hash of a criteria record's meaning (not its spelling)."""
    criteria = sorted({_canonical(text) for text in record["criteria"]})
    # With nothing to judge, strict judges nothing either.
    canonical = {"criteria": criteria, "strict": bool(record["strict"]) and bool(criteria)}
    return hashlib.sha256(json.dumps(canonical, sort_keys=True).encode("utf-8")).hexdigest()


def _canonical(text: str) -> str:
    try:
        c = parse_criterion(text)
    except ValueError:
        return " ".join(text.split())  # not parseable today: compare it as written, spacing aside
    # 12 significant digits: "95%" and "0.95" (or "1.5 s" and "1500") meet despite float arithmetic.
    if c.baseline is not None:  # "accuracy >= live - 0.02" must not meet "accuracy >= -0.02"
        return f"{c.key} {c.op} {c.baseline} {c.threshold:+.12g}"
    return f"{c.key} {c.op} {c.threshold:.12g}" + (f" {c.currency}" if c.currency else "")
