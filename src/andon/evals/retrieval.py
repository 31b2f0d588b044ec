"""Retrieval judged per case: which retrieved chunks a case's ``relevant:`` entries name, and the figures.

An entry is a chunk id (or a unique prefix of one), a document (its path or file name), a section path
(``refund.md › 환불`` or ``환불 › 기간``), a quoted span (``{quote: "7일 이내"}``, whitespace-insensitive), or a
bare string matching any of the first three. Recall counts entries found in the first ``k`` chunks; precision
counts the slots holding a chunk that matches some entry; nDCG gives a rank gain only when its chunk finds an
entry no earlier chunk found, so a document matched by three chunks counts once and nDCG stays within [0, 1].
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from andon.errors import ConfigError
from andon.evals.model import Grade
from andon.messages import t
from andon.versions.canonical import RETRIEVE_PROVIDER

KINDS = ("chunk", "document", "section", "quote")
FIGURES = ("recall", "precision", "hit_rate", "mrr", "ndcg")  # summaries name them retrieval_<figure>
GRADER = "retrieval"  # the informational grade (weight 0) carrying one cell's figures
_SEPARATORS = re.compile(r"\s*[›>/]\s*")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class Relevant:
    """One ``relevant:`` entry; ``kind`` is one of :data:`KINDS`, or ``any`` for a bare string."""

    kind: str
    value: str

    def to_json(self) -> str | dict[str, str]:
        """As written in a dataset: a bare string, or ``{kind: value}``."""
        return self.value if self.kind == "any" else {self.kind: self.value}


def parse_relevant(value: Any, where: str) -> tuple[Relevant, ...]:
    """A case's ``relevant:`` (one entry or a list of them), or a ConfigError naming ``where`` and the fix."""
    if value is None:
        return ()
    items = value if isinstance(value, list) else [value]
    out = []
    for index, item in enumerate(items):
        at = f"{where}: relevant[{index}]" if isinstance(value, list) else f"{where}: relevant"
        if isinstance(item, str | int) and not isinstance(item, bool) and str(item).strip():
            out.append(Relevant("any", str(item).strip()))
            continue
        if isinstance(item, Mapping) and len(item) == 1:
            kind, text = next(iter(item.items()))
            if kind in KINDS and isinstance(text, str | int) and str(text).strip():
                out.append(Relevant(str(kind), str(text).strip()))
                continue
        raise ConfigError(
            t("knowledge.relevant.bad", value=repr(item)), where=at, hint=t("knowledge.relevant.bad_hint")
        )
    return tuple(out)


def _words(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def _path(text: str) -> list[str]:
    return [part for part in _SEPARATORS.split(text.strip()) if part]


def matches(entry: Relevant, chunk: Mapping[str, Any]) -> bool:
    """Whether ``chunk`` (a retrieve step's record of it: id, source, section, text) is what ``entry`` names."""
    kinds = ("chunk", "document", "section") if entry.kind == "any" else (entry.kind,)
    source = str(chunk.get("source") or "")
    for kind in kinds:
        if kind == "chunk" and str(chunk.get("id") or "").startswith(entry.value):
            return True
        if kind == "document" and (source == entry.value or source.endswith("/" + entry.value.lstrip("/"))):
            return True
        if kind == "section":
            wanted, section = _path(entry.value), [str(s) for s in chunk.get("section") or []]
            named = [source.rsplit("/", 1)[-1], *section]
            if wanted and (section[: len(wanted)] == wanted or named[: len(wanted)] == wanted):
                return True
        if kind == "quote" and _words(entry.value) in _words(str(chunk.get("text") or "")):
            return True
    return False


def figures(chunks: Sequence[Mapping[str, Any]], relevant: Sequence[Relevant], k: int) -> dict[str, float]:
    """Recall, precision, hit (0/1), reciprocal rank and nDCG of the first ``k`` chunks against ``relevant``."""
    found: set[int] = set()
    slots = 0
    first: int | None = None
    dcg = 0.0
    for rank, chunk in enumerate(chunks[:k], start=1):
        named = {i for i, entry in enumerate(relevant) if matches(entry, chunk)}
        if not named:
            continue
        slots += 1
        first = first or rank
        if named - found:
            dcg += 1.0 / math.log2(rank + 1)
        found |= named
    ideal = math.fsum(1.0 / math.log2(rank + 1) for rank in range(1, min(k, len(relevant)) + 1))
    return {
        "recall": len(found) / len(relevant) if relevant else 0.0,
        "precision": slots / k if k else 0.0,
        "hit_rate": 1.0 if first else 0.0,
        "mrr": 1.0 / first if first else 0.0,
        "ndcg": dcg / ideal if ideal else 0.0,
    }


def retrieved(steps: Sequence[Any]) -> tuple[list[dict[str, Any]], int] | None:
    """The chunks the retrieve steps of an outcome found, in rank order, and their ``k`` (summed over steps);
    None when no retrieve step ran."""
    chunks: list[dict[str, Any]] = []
    k = 0
    ran = False
    for step in steps:
        if step.provider != RETRIEVE_PROVIDER or not isinstance(step.parsed, dict):
            continue
        ran = True
        k += int((step.params or {}).get("k") or 0)
        chunks.extend(dict(c) for c in step.parsed.get("chunks") or [])
    return (chunks, k) if ran else None


def retrieval_grade(chunks: Sequence[Mapping[str, Any]], relevant: Sequence[Relevant], k: int) -> Grade:
    """The informational grade (weight 0: it never moves the case's score) holding one cell's figures."""
    values = figures(chunks, relevant, k)
    found = round(values["recall"] * len(relevant))
    first = round(1 / values["mrr"]) if values["mrr"] else None
    key = "knowledge.relevant.grade" if first else "knowledge.relevant.grade_none"
    reason_values: dict[str, Any] = {"found": found, "n": len(relevant), "k": k, "rank": first}
    return Grade(
        grader=GRADER,
        score=values["recall"],
        passed=bool(values["hit_rate"]),
        weight=0.0,
        reason=t(key, language="en", **reason_values),
        reason_key=key,
        reason_values=reason_values,
        figures={**values, "k": float(k)},
    )
