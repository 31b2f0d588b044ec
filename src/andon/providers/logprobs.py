"""Token log-probabilities of a reply: read from an OpenAI-compatible reply, or recorded while llama.cpp samples.

One shape for both: a list of ``{"token": str, "logprob": float, "bytes": [int, ...]}`` in output order, the
shape OpenAI's ``choices[0].logprobs.content`` uses, so provenance and the confidence reader see one form.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["LogprobRecorder", "from_openai_choice"]


def _entry(token: str, logprob: float, raw: bytes | None = None) -> dict[str, Any]:
    data = raw if raw is not None else token.encode("utf-8")
    return {"token": token, "logprob": float(logprob), "bytes": list(data)}


def from_openai_choice(choice: Any) -> list[dict[str, Any]] | None:
    """``choice.logprobs.content`` as our list, or None when the server sent none (or something else)."""
    block = choice.get("logprobs") if isinstance(choice, dict) else None
    content = block.get("content") if isinstance(block, dict) else None
    if not isinstance(content, list):
        return None
    out: list[dict[str, Any]] = []
    for item in content:
        if not isinstance(item, dict) or not isinstance(item.get("token"), str):
            return None
        value = item.get("logprob")
        if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
            return None
        raw = item.get("bytes")
        ok_bytes = isinstance(raw, list) and all(isinstance(b, int) and 0 <= b < 256 for b in raw)
        out.append(_entry(item["token"], value, bytes(raw) if isinstance(raw, list) and ok_bytes else None))
    return out


class LogprobRecorder:
    """A llama-cpp-python logits processor that keeps the log-probability of every token the sampler chose.

    It sees the model's logits before the grammar and the greedy pick, so a logprob is the model's own belief
    (a lower bound on the grammar-constrained one). The chosen token shows up as the last input id on the next
    call; the final pick (end of text, or the token that hit ``max_tokens``) is never eval'd and stays out.
    """

    def __init__(self, detokenize: Any) -> None:
        self._detokenize = detokenize
        self._pending: np.ndarray | None = None
        self._tokens: list[tuple[int, float]] = []

    def __call__(self, input_ids: np.ndarray, scores: np.ndarray) -> np.ndarray:
        """Record the previous step's pick, then this step's log-softmax; the scores pass through unchanged."""
        if self._pending is not None and len(input_ids):
            token = int(input_ids[-1])
            if 0 <= token < len(self._pending):
                self._tokens.append((token, float(self._pending[token])))
        logits = np.asarray(scores, dtype=np.float64)
        top = float(np.max(logits))
        self._pending = logits - (top + math.log(float(np.sum(np.exp(logits - top)))))
        return scores

    def entries(self) -> list[dict[str, Any]]:
        """The recorded tokens in our list shape."""
        out = []
        for token, logprob in self._tokens:
            raw = bytes(self._detokenize([token]))
            out.append(_entry(raw.decode("utf-8", errors="replace"), logprob, raw))
        return out
