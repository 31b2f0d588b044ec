"""Confidence of an answer's field from the token log-probabilities its model step recorded (``logprob:PATH``).

The value at PATH (e.g. ``decision`` = ``"reject"``) is found in the step's reply text after its key; the
confidence is exp(sum of the logprobs of the tokens that overlap the value's bytes), the model's probability of
writing that value there. An answer a rule step finished before any model spoke gets 1.0: a rule's verdict is
deterministic, and the reliability curve still measures how often such verdicts are right.
"""

from __future__ import annotations

import json
import math
from typing import Any

from andon.config.json_values import MissingPath, lookup, split_path
from andon.evals.model import CellResult

__all__ = ["logprob_confidence", "span_confidence"]


def span_confidence(text: str, tokens: list[dict[str, Any]], key: str, value: Any) -> float | None:
    """exp(sum of logprobs) over the tokens covering ``value``'s JSON form after ``"key"`` in ``text``."""
    data = text.encode("utf-8")
    key_at = data.rfind(json.dumps(key, ensure_ascii=False).encode("utf-8"))
    if key_at < 0:
        return None
    literal = json.dumps(value, ensure_ascii=False).encode("utf-8")
    inner = literal[1:-1] if isinstance(value, str) else literal
    start = data.find(inner, key_at + len(key) + 2)
    if start < 0 or not inner:
        return None
    end = start + len(inner)
    total, offset, covered = 0.0, 0, 0
    for token in tokens:
        width = len(token.get("bytes") or token["token"].encode("utf-8"))
        if offset < end and offset + width > start:
            total += float(token["logprob"])
            covered += 1
        offset += width
    if not covered or offset < end:  # the recorded tokens do not reach the value: nothing honest to say
        return None
    return math.exp(total)


def logprob_confidence(cell: CellResult, path: str) -> float | None:
    """The cell's confidence in its value at ``path``, from the last model step that recorded logprobs."""
    try:
        value = lookup(cell.output_json, split_path(path, "--confidence"))
    except MissingPath:
        return None
    steps = (cell.provenance or {}).get("steps") or []
    for step in reversed(steps):
        tokens = step.get("logprobs")
        if isinstance(tokens, list) and isinstance(step.get("text"), str):
            return span_confidence(step["text"], tokens, split_path(path, "--confidence")[-1], value)
        if step.get("finished"):
            return 1.0
    return None
