"""Decisions become test cases: decided review items appended to a dataset (YAML, JSONL or CSV), each once.

A case reads ``{"id": <review id>, "vars": <stored input>, "label": <human label>, "expected": <decision>,
"tags": ["from-review", <why it was queued>], "reason": <comment>}`` — the format of
:mod:`andon.evals.dataset`, so ``andon eval`` reads the file as it is, the feature's own dataset included.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from andon.errors import AndonError, ConfigError, NotFoundError
from andon.evals.dataset import FILE_SUFFIXES
from andon.messages import t
from andon.review.casefile import SUFFIXES, CaseFile
from andon.review.queue import ReviewItem
from andon.store import Store


class CasesNotAllowedError(AndonError):
    """The feature's production inputs may not become test cases (the data-use grant is off)."""


@dataclass(frozen=True, slots=True)
class ExportResult:
    """What an export wrote, what was in the file already, and what it refused (with why)."""

    path: Path
    written: list[str] = field(default_factory=list)
    already_there: list[str] = field(default_factory=list)  # ids the file held already: now marked exported
    refused: list[tuple[str, str]] = field(default_factory=list)  # (review id, why); stay unexported


def review_to_case(item: ReviewItem) -> dict[str, Any]:
    """The dataset case a decided item becomes (fields left out when empty)."""
    case: dict[str, Any] = {"id": item.id, "vars": item.input}
    if item.label is not None:
        case["label"] = item.label
    if item.decision is not None:
        case["expected"] = item.decision
    case["tags"] = ["from-review", item.reason]
    if item.comment:
        case["reason"] = item.comment
    return case


def export_decisions(store: Store, workspace: Path, feature: str, path: Path) -> ExportResult:
    """Append ``feature``'s decided, not yet exported items to the dataset ``path`` and mark them exported.

    Refused unless an admin allowed the feature's traces to become cases; items whose input was kept
    only as a hash (or not at all), whose id names a different case in the file, or that the format
    cannot hold exactly, are refused one by one and stay in the queue unexported.
    """
    if not store.cases_allowed(feature):
        raise CasesNotAllowedError(
            t("house2.review.cases_off", feature=feature), hint=t("house2.review.cases_off_hint", feature=feature)
        )
    path = _check_path(path, workspace)
    result = ExportResult(path=path)

    def write(items: list[tuple[dict[str, Any], str | None]]) -> set[str]:
        file = CaseFile.open(path)  # read inside the export's transaction: no other export writes meanwhile
        cases: list[dict[str, Any]] = []
        traced = [row["trace_id"] for row, _ in items if row.get("trace_id")]
        consented = store.consented_traces(traced, "cases") if traced else set()
        for row, input_mode in items:
            item = ReviewItem.from_row(row)
            if item.trace_id and item.trace_id not in consented:
                # The end user's own choice (off by default): their input never becomes a case.
                result.refused.append((item.id, t("trust.export.no_consent")))
                continue
            case = review_to_case(item)
            there = file.cases.get(item.id)
            if there is not None:
                if file.same(there, case):
                    result.already_there.append(item.id)
                else:
                    taken = t("review.export.id_taken", where=there.where, id=item.id)
                    result.refused.append((item.id, f"{taken}; {t('review.export.id_taken_hint')}"))
                continue
            why = _refusal(item, input_mode, path.parent, workspace) or file.unfit(case)
            if why is not None:
                result.refused.append((item.id, why))
                continue
            cases.append(case)
            result.written.append(item.id)
        file.append(cases)  # durable (fsync + rename) before the items are marked exported
        return set(result.written) | set(result.already_there)

    store.export_review_items(feature, write)
    return result


def _check_path(path: Path, workspace: Path) -> Path:
    if path.suffix.lower() not in SUFFIXES:
        raise ConfigError(
            t("review.export.format", path=path, suffix=path.suffix or "(no suffix)"),
            where="--to-dataset",
            hint=t("review.export.format_hint"),
        )
    full = path if path.is_absolute() else Path.cwd() / path
    try:
        full.resolve().relative_to(workspace.resolve())
    except ValueError:
        raise ConfigError(
            t("house2.data.outside", path=full, workspace=workspace),
            where="--to-dataset",
            hint=t("house2.review.outside_hint"),
        ) from None
    if not full.parent.is_dir():
        raise NotFoundError(
            t("house2.review.no_folder", folder=full.parent),
            where="--to-dataset",
            hint=t("house2.review.no_folder_hint"),
        )
    return full


def _refusal(item: ReviewItem, input_mode: str | None, folder: Path, workspace: Path) -> str | None:
    """Why this item cannot become a case, or None."""
    if item.reason == "tool_approval":
        return "it decided a tool call (approve or reject), not the feature's answer: there is no label to test with"
    if input_mode == "hash":
        return "its input was stored as a hash only (data_use.inputs: hash), so there is nothing to test with"
    if not isinstance(item.input, dict) or not item.input:
        return "no input variables were stored with it"
    for name, value in item.input.items():
        if isinstance(value, str) and value.lower().endswith(FILE_SUFFIXES) and "://" not in value:
            # The dataset loader opens such values as files beside the dataset; refuse rather than break it.
            target = (Path(value) if Path(value).is_absolute() else folder / value).resolve()
            if not target.is_file() or not target.is_relative_to(workspace.resolve()):
                return f"vars.{name} ({value!r}) would be read as a file that is not in the workspace"
    return None
