"""Durations in andon.yaml: ``90``, ``"90s"``, ``"5m"``, ``"1.5h"``, ``"2d"``, ``"1w"`` as seconds."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator

from andon.messages import t

__all__ = ["Duration", "parse_duration"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)?\s*$")
_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0, None: 1.0}


def parse_duration(value: Any) -> float:
    """Seconds from ``90``, ``"90s"``, ``"5m"``, ``"1.5h"``, ``"2d"`` or ``"1w"`` (a bare number is seconds)."""
    if isinstance(value, bool):
        raise ValueError(t("house2.schema.duration_kind"))
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if match is None:
            raise ValueError(t("house2.schema.not_duration", value=value))
        seconds = float(match.group(1)) * _DURATION_UNITS[match.group(2)]
    if not seconds > 0 or seconds != seconds or seconds == float("inf"):
        raise ValueError(t("house2.schema.duration_positive"))
    return seconds


Duration = Annotated[float, BeforeValidator(parse_duration)]
