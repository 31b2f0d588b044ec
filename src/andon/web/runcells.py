"""A run's per-case table: one page of cells (filtered and paged by the store) with their cases' inputs.

Image inputs are shown through ``/runs/{run}/cases/{case}/images/{name}``: the URL names a stored case and
variable, never a path, and the file it resolves to must lie inside the workspace.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from andon.evals.report._images import is_image_ref
from andon.store.records import CellPage, CellQuery, RunRecord
from andon.web.i18n import Formats
from andon.web.runfigures import figure
from andon.workspace import Workspace

PAGE_SIZE = 50
TEXT_SHOWN = 300  # characters of an input or output shown in the table; the rest is cut with an ellipsis


@dataclass(frozen=True, slots=True)
class InputShown:
    """One input variable of a case: text, or the URL of its thumbnail."""

    name: str
    text: str | None
    image_url: str | None


@dataclass(frozen=True, slots=True)
class CellRow:
    """One cell as the table shows it."""

    case_id: str
    version_name: str
    repeat: int
    status: str  # passed | failed | error
    score: str
    expected: str
    predicted: str
    output: str
    latency: str
    cost: str
    inputs: list[InputShown]
    tags: list[str]


def cut(text: str | None, limit: int = TEXT_SHOWN) -> str:
    """``text`` up to ``limit`` characters, with an ellipsis when cut."""
    if not text:
        return ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def image_url(run_id: str, case_id: str, name: str) -> str:
    """Where the page loads a case variable's thumbnail."""
    return f"/runs/{quote(run_id, safe='')}/cases/{quote(case_id, safe='')}/images/{quote(name, safe='')}"


def inputs_of(run_id: str, case: dict[str, Any]) -> list[InputShown]:
    """A case's variables: images as thumbnail URLs, everything else as (cut) text."""
    shown = []
    for name, value in (case.get("vars") or {}).items():
        if is_image_ref(value):
            shown.append(InputShown(str(name), None, image_url(run_id, str(case.get("id", "")), str(name))))
        else:
            text = value if isinstance(value, str) else repr(value)
            shown.append(InputShown(str(name), cut(text, 160), None))
    return shown


def cell_rows(fmt: Formats, ws: Workspace, run: RunRecord, page: CellPage) -> list[CellRow]:
    """The page's cells with their cases (read for these cells only)."""
    cases = ws.store.run_cases_by_id(run.id, [c["case_id"] for c in page.cells])
    rows = []
    for cell in page.cells:
        case = cases.get(cell["case_id"], {"id": cell["case_id"]})
        status = "error" if cell["status"] == "error" else "passed" if cell["passed"] else "failed"
        output = cell["error"] if cell["status"] == "error" else cell["output_text"]
        rows.append(
            CellRow(
                case_id=cell["case_id"],
                version_name=cell["version_name"],
                repeat=int(cell["repeat"]),
                status=status,
                score=fmt.number(cell["score"], 3),
                expected=cell["expected_label"] or "",
                predicted=cell["predicted_label"] or "",
                output=cut(output),
                latency=figure(fmt, cell["latency_ms"], "ms", run.currency),
                cost=figure(fmt, cell["cost"], "money", cell["currency"] or run.currency),
                inputs=inputs_of(run.id, case),
                tags=[str(x) for x in case.get("tags") or ()],
            )
        )
    return rows


def parse_query(params: dict[str, str], versions: dict[str, str], limit: int = PAGE_SIZE) -> CellQuery:
    """The table's filters and page from the URL (``version`` is a version name; bad cursors are ignored)."""
    return CellQuery(
        version_id=versions.get(params.get("version", "")),
        failed=params.get("failed") == "on",
        label=params.get("label") or None,
        tag=params.get("tag") or None,
        after=_cursor(params.get("after")),
        before=_cursor(params.get("before")),
        limit=limit,
    )


def _cursor(value: str | None) -> int | None:
    # Cell ids are 32-bit integers on PostgreSQL: a larger cursor is no cell's, so it is ignored.
    return int(value) if value and value.isascii() and value.isdigit() and int(value) < 2**31 else None


def page_link(run_id: str, params: dict[str, str], **cursor: int) -> str:
    """The run page's URL with the same filters and another page."""
    kept = {k: v for k, v in params.items() if k in ("version", "failed", "label", "tag") and v}
    kept.update({k: str(v) for k, v in cursor.items()})
    query = urlencode(kept)
    return f"/runs/{quote(run_id, safe='')}" + (f"?{query}" if query else "")


def image_path(ws: Workspace, run: RunRecord, case: dict[str, Any], name: str) -> Path | None:
    """The image file a case variable names, if it is an image inside the workspace; else None."""
    value = (case.get("vars") or {}).get(name)
    if not is_image_ref(value):
        return None
    path = Path(str(value))
    if not path.is_absolute():
        dataset = Path(run.dataset)
        path = (dataset if dataset.is_absolute() else ws.root / dataset).parent / path
    resolved = path.resolve()
    # A tampered store or a symlink must not let the page read files outside the workspace.
    return resolved if resolved.is_relative_to(ws.root.resolve()) and resolved.is_file() else None
