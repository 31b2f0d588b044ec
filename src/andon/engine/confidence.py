"""The model's probability of an answer's value, from the token log-probabilities its model step recorded.

The value at PATH (e.g. ``decision`` = ``"reject"``) is found in the step's reply text after its key; the
confidence is exp(sum of the logprobs of the tokens that overlap the value's bytes), the model's probability of
writing that value there. An answer a rule step finished before any model spoke gets 1.0: a rule's verdict is
deterministic. The gateway routes on this (``confidence_source: logprob``); the calibration of a run reads it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from andon.config.json_values import MissingPath, lookup, split_path

__all__ = ["answer_confidence", "span_confidence"]


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


def answer_confidence(
    answer: Any, steps: Sequence[Mapping[str, Any]], path: str, *, where: str = "--confidence"
) -> float | None:
    """The confidence in ``answer``'s value at ``path`` from its steps (provenance JSON: text, logprobs, finished).

    The last step that recorded logprobs speaks; a rule step that finished the run before it gives 1.0; None when
    the value is missing or no step recorded logprobs. The gateway routes on this, the calibration reads it.
    """
    try:
        value = lookup(answer, split_path(path, where))
    except MissingPath:
        return None
    for step in reversed(steps):
        tokens = step.get("logprobs")
        if isinstance(tokens, list) and isinstance(step.get("text"), str):
            return span_confidence(step["text"], tokens, split_path(path, where)[-1], value)
        if step.get("finished"):
            return 1.0
    return None
