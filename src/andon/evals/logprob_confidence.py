"""Confidence of a run's answer from the token log-probabilities its model step recorded (``logprob:PATH``).

The reading itself is :mod:`andon.engine.confidence` (shared with the gateway's routing); this is its form over a
run's cell and its provenance.
"""

from __future__ import annotations

from andon.engine.confidence import answer_confidence, span_confidence
from andon.evals.model import CellResult

__all__ = ["logprob_confidence", "span_confidence"]


def logprob_confidence(cell: CellResult, path: str) -> float | None:
    """The cell's confidence in its value at ``path``, from the last model step that recorded logprobs."""
    return answer_confidence(cell.output_json, (cell.provenance or {}).get("steps") or [], path)
