"""A stored run's summaries streamed from the store: one version's cells in memory at a time, each cell without
what no figure reads (a report's provenance; the answer's text when no case repeats; its JSON beyond the
policy codes a slice reads), so a large run is summarised without loading every cell of the run as it is stored.

The figures are the ones :func:`andon.evals.summarize.summarize_version` gives on every loaded cell: the same
function is called, on the same cells in the same order, only lighter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from andon.config.schema import FeatureConfig
from andon.evals.model import Case, CellResult, Grade, VersionSummary
from andon.evals.slices import codes_field
from andon.evals.summarize import Conversion, summarize_version

# Fields repeated on every cell of a version: one string object each instead of one per row.
_SHARED = ("run_id", "version_id", "version_name", "status", "currency", "expected_label", "predicted_label")

_UNREAD = ("reason", "reason_key", "reason_values", "expected", "judge_output_id")
RowsOf = Callable[[str], Iterable[Mapping[str, Any]]]  # version id -> its stored cells (field dicts), in id order


def summarize_stored(
    rows_of: RowsOf,
    versions: Sequence[tuple[str, str]],
    repeats: int,
    cases: Mapping[str, Case],
    feature: FeatureConfig,
    convert: Conversion,
) -> list[VersionSummary]:
    """Each (name, version id)'s summary from ``rows_of(version id)`` (``store.iter_run_results`` bound to a run)."""
    field = codes_field(list(cases.values()))
    keep_text = repeats >= 2  # agreement between repeats reads the answers' text, nothing else does
    by_id = dict(cases)
    out = []
    for name, version_id in versions:
        shared: dict[str, str] = {}
        cells = [slim_cell(row, keep_text, field, shared) for row in rows_of(version_id)]
        out.append(summarize_version(version_id, name, cells, by_id, feature, convert))
        del cells  # before the next version's cells are read
    return out


def slim_cell(row: Mapping[str, Any], keep_text: bool, field: str | None, shared: dict[str, str]) -> CellResult:
    """A stored row as a cell carrying only what summaries read (``shared`` interns the repeated strings)."""
    data = dict(row)
    for name in _SHARED:
        value = data.get(name)
        if isinstance(value, str):
            data[name] = shared.setdefault(value, value)
    if not keep_text:
        data["output_text"] = None
    answer = data.get("output_json")
    data["output_json"] = {field: answer.get(field)} if field and isinstance(answer, Mapping) else None
    data["grades"] = [_grade(g, shared) for g in data.get("grades") or []]
    return CellResult(**data)


def _grade(data: Mapping[str, Any], shared: dict[str, str]) -> Grade:
    kept = dict(data)
    if not kept.get("error"):
        # A grade that graded is read for its grader, verdict, score, label and figures; only a grader that could
        # not grade is read for why (the first errors the summary names).
        for name in _UNREAD:
            kept.pop(name, None)
    grader = kept.get("grader")
    if isinstance(grader, str):
        kept["grader"] = shared.setdefault(grader, grader)
    return Grade.from_json(kept)
