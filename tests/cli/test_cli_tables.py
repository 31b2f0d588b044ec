"""Every CLI listing prints each id whole, even on a narrow terminal (issue 16 item 13): ids are for copying."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from andon.review.queue import ReviewItem
from andon.store.records import TraceRecord, new_id
from andon.workspace import Workspace

RULES = """
def strict(variables):
    return {"decision": "reject" if "010" in variables["description"] else "approve"}


def lax(variables):
    return {"decision": "approve"}
"""

# Long names on purpose: they compete with the ids for the width of the terminal.
FEATURE = "second-hand-listing-policy-check"
CASES = [
    {"id": f"listing-with-a-phone-number-{n:03d}", "vars": {"description": f"책상 팝니다 010-1234-{n:04d}"},
     "label": "reject"}
    for n in range(3)
] + [{"id": "listing-that-is-fine-000", "vars": {"description": "거의 새 자전거"}, "label": "approve"}]  # fmt: skip


def andon(*args: str, cwd: Path, columns: int = 200) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANDON_LANG": "en", "COLUMNS": str(columns), "PYTHONIOENCODING": "utf-8"}
    env.pop("ANDON_WORKSPACE", None)
    env.pop("ANDON_DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "andon", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("tables")
    (folder / "table_rules.py").write_text(RULES, encoding="utf-8")
    (folder / "cases.jsonl").write_text("".join(json.dumps(c) + "\n" for c in CASES), encoding="utf-8")
    (folder / "andon.yaml").write_text(
        textwrap.dedent(
            f"""\
            name: tables
            features:
              {FEATURE}:
                dataset: cases.jsonl
                graders: [{{type: label, path: decision}}]
                criteria: ["accuracy >= 0.9"]
                versions:
                  a-rather-lax-first-version:
                    python: table_rules:lax
                  a-strict-second-version:
                    python: table_rules:strict
            """
        ),
        encoding="utf-8",
    )
    andon("eval", FEATURE, cwd=folder)
    andon("promote", FEATURE, "a-strict-second-version", cwd=folder)
    andon("keys", "create", "checkout-service-of-the-shop", cwd=folder)
    with Workspace.open(folder) as ws:
        version = ws.declared_versions(FEATURE)[1]
        now = datetime.now(UTC)
        review = ReviewItem.new(FEATURE, "low_confidence", input={"description": "x"}, created_at=now)
        trace = TraceRecord(
            id=new_id("trc"), feature=FEATURE, route="ai", status="ok", input_mode="full", input={},
            input_hash="0" * 64, created_at=now, version_id=version.id, version_name=version.name, cache="exact",
            latency_ms=12.0, input_tokens=1234, output_tokens=567, cost=0.000123, currency="KRW",
        )  # fmt: skip
        ws.store.save_traces([trace], review_items=[review])
    yield folder


def _ids(workspace: Path, *args: str, key: str = "id") -> list[str]:
    rows: Any = json.loads(andon(*args, "--json", cwd=workspace).stdout)
    return [str(r[key]) for r in rows]


@pytest.mark.parametrize("columns", [80, 60])
def test_every_listing_prints_each_id_whole(workspace: Path, columns: int) -> None:
    listings: list[tuple[list[str], list[str]]] = [
        (["runs"], _ids(workspace, "runs")),
        (["traces", "list"], _ids(workspace, "traces", "list")),
        (["review", "list"], _ids(workspace, "review", "list")),
        (["keys", "list"], _ids(workspace, "keys", "list")),
        # version ids show as their 12-character short id (accepted wherever a version is named), never less
        (["versions", FEATURE], [i[:12] for i in _ids(workspace, "versions", FEATURE)]),
        (["live"], [i[:12] for i in _ids(workspace, "live", key="version_id") if i != "None"]),
    ]
    history = json.loads(andon("live", FEATURE, "--json", cwd=workspace).stdout)["history"]
    listings.append((["live", FEATURE], [history[0]["run_id"], history[0]["version_id"][:12]]))
    flipped = [c["id"] for c in CASES if c["label"] == "reject"]
    listings.append((["report", "latest"], [_ids(workspace, "runs")[0], *flipped]))
    for args, ids in listings:
        assert ids, args
        shown = andon(*args, cwd=workspace, columns=columns).stdout
        for one in ids:
            assert one in shown, f"andon {' '.join(args)} at {columns} columns cut {one}:\n{shown}"


def test_a_wide_terminal_keeps_the_table(workspace: Path) -> None:
    shown = andon("runs", cwd=workspace, columns=200).stdout
    assert "┃" in shown and _ids(workspace, "runs")[0] in shown
