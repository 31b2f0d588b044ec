"""Decisions become test cases: decided review items appended to a JSONL dataset, each exactly once.

A case reads ``{"id": <review id>, "vars": <stored input>, "label": <human label>, "expected": <decision>,
"tags": ["from-review", <why it was queued>], "reason": <comment>}`` — the format of
:mod:`andon.evals.dataset`, so ``andon eval`` reads the file as it is.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from andon.errors import AndonError, ConfigError, NotFoundError
from andon.evals.dataset import FILE_SUFFIXES
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
    """Append ``feature``'s decided, not yet exported items to the JSONL dataset ``path`` and mark them exported.

    Refused unless an admin allowed the feature's traces to become cases; items whose input was kept
    only as a hash (or not at all) are refused one by one and stay in the queue unexported.
    """
    if not store.cases_allowed(feature):
        raise CasesNotAllowedError(
            f"production inputs of {feature!r} may not become test cases: its data-use grant is off (the default)",
            hint=f"an admin can allow it, recorded with who and why: andon data-use allow-cases {feature} --reason '…'",
        )
    path = _check_path(path, workspace)
    existing = _existing_ids(path)
    result = ExportResult(path=path)

    def write(items: list[tuple[dict[str, Any], str | None]]) -> set[str]:
        lines: list[str] = []
        for row, input_mode in items:
            item = ReviewItem.from_row(row)
            if item.id in existing:
                result.already_there.append(item.id)
                continue
            why = _refusal(item, input_mode, path.parent, workspace)
            if why is not None:
                result.refused.append((item.id, why))
                continue
            lines.append(json.dumps(review_to_case(item), ensure_ascii=False, allow_nan=False))
            result.written.append(item.id)
        if lines:
            _append(path, lines)
        return set(result.written) | set(result.already_there)

    store.export_review_items(feature, write)
    return result


def _check_path(path: Path, workspace: Path) -> Path:
    if path.suffix.lower() != ".jsonl":
        raise ConfigError(
            f"{path} is not a .jsonl file",
            where="--to-dataset",
            hint="decisions are appended as JSON Lines: name it *.jsonl",
        )
    full = path if path.is_absolute() else Path.cwd() / path
    try:
        full.resolve().relative_to(workspace.resolve())
    except ValueError:
        raise ConfigError(
            f"{full} is outside the workspace {workspace}",
            where="--to-dataset",
            hint="datasets live inside the workspace so `andon eval` can read them",
        ) from None
    if not full.parent.is_dir():
        raise NotFoundError(f"folder {full.parent} does not exist", where="--to-dataset", hint="create it first")
    return full


def _existing_ids(path: Path) -> set[str]:
    """Case ids already in the file, so a repeated or interrupted export never writes one twice."""
    if not path.exists():
        return set()
    ids: set[str] = set()
    text = path.read_text(encoding="utf-8-sig")
    for number, line in enumerate(text.split("\n"), start=1):  # \n only, as the dataset loader splits
        line = line.removesuffix("\r")
        if not line.strip() or line.lstrip().startswith("//"):
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(
                f"invalid JSON: {exc.msg}", where=f"{path}:{number}:{exc.colno}", hint="fix the line, then export again"
            ) from None
        if isinstance(value, dict) and value.get("id") is not None:
            ids.add(str(value["id"]))
    return ids


def _refusal(item: ReviewItem, input_mode: str | None, folder: Path, workspace: Path) -> str | None:
    """Why this item cannot become a case, or None."""
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


def _append(path: Path, lines: list[str]) -> None:
    """Append lines durably (fsync) before the items are marked exported."""
    with open(path, "a+b") as handle:
        handle.seek(0, os.SEEK_END)
        prefix = b""
        if handle.tell() > 0:
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) != b"\n":
                prefix = b"\n"  # a file whose last line has no newline must not be glued to ours
        handle.write(prefix + ("\n".join(lines) + "\n").encode("utf-8"))
        handle.flush()
        os.fsync(handle.fileno())
