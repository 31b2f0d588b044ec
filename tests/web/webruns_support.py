"""Runs for the run and comparison pages: a real evaluation of ``menu`` with an image case, and large built runs.

folder = write_runs_workspace(tmp_path)      # the dashboard bench + a dataset, criteria and a photo
run_id = evaluate_menu(folder)               # andon.evaluate: v1 and v2 on the dataset
big = synthetic_run(folder, cases=50_000)    # 2 versions × 50,000 cases stored directly, flips included
"""

from __future__ import annotations

import json
import struct
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests.web.web_support import write_web_workspace

import andon
from andon.evals.model import CellResult, Grade
from andon.store.records import new_id
from andon.workspace import Workspace

SCRIPT = "<script>alert('xss')</script>"
IMG_PAYLOAD = '<img src=x onerror="alert(1)">'
CRITERIA = ["accuracy >= 0.5", "p95_latency_ms <= 5000"]
# (id, text, label, tags, photo?)
CASES: list[tuple[str, str, str, list[str], bool]] = [
    ("bibimbap", "Bibimbap with egg", "approve", ["easy"], False),
    ("call-me", "Call 010-1234-5678 to order", "reject", ["phone"], False),
    ("kimchi", "Kimchi, 2 pieces", "approve", ["hard"], False),
    ("xss", SCRIPT, "approve", ["hard", "security"], False),
    ("photo", "Cold noodles", "approve", ["photo"], True),
    ("tteok", "Tteokbokki", "approve", ["easy"], False),
    ("promo", "Visit 3 times get 1 free", "reject", ["hard"], False),
    ("jjigae", "Kimchi jjigae", "reject", ["hard"], False),
]


def png(width: int = 8, height: int = 8, rgb: tuple[int, int, int] = (200, 40, 40)) -> bytes:
    """A small solid-colour PNG, written by hand so no image library is needed to make one."""
    row = b"\x00" + bytes(rgb) * width
    raw = row * height

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def write_runs_workspace(folder: Path) -> Path:
    """The dashboard bench with ``menu`` given a dataset (one case with a photo) and criteria."""
    write_web_workspace(folder)
    config = json.loads((folder / "andon.yaml").read_text(encoding="utf-8"))
    config["features"]["menu"]["dataset"] = "menu_cases.jsonl"
    config["features"]["menu"]["criteria"] = CRITERIA
    (folder / "andon.yaml").write_text(json.dumps(config, indent=2), encoding="utf-8")
    (folder / "photos").mkdir(exist_ok=True)
    (folder / "photos" / "naengmyeon.png").write_bytes(png())
    (folder / "secret.png").write_bytes(png(rgb=(0, 0, 0)))  # outside the dataset's folder: never served by name
    lines = []
    for case_id, text, label, tags, photo in CASES:
        variables = {"text": text} | ({"photo": "photos/naengmyeon.png"} if photo else {})
        lines.append(json.dumps({"id": case_id, "vars": variables, "label": label, "tags": tags}, ensure_ascii=False))
    (folder / "menu_cases.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def evaluate_menu(folder: Path) -> str:
    """Evaluate ``menu``'s v1 and v2 on the dataset with the real runner; the run's id.

    In a thread of its own: Playwright's sync API keeps an event loop running in the test's thread.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        report = pool.submit(andon.evaluate, "menu", workspace=folder, versions=["v1", "v2"], use_cache=False).result()
    return report.run.id


def passes(version: int, i: int) -> bool:
    """Whether version 0 or 1 passes case ``i`` in a synthetic run: they disagree on every 25th case (4 %)."""
    first = i % 3 != 0
    return first if version == 0 else first != (i % 25 == 0)


def synthetic_run(folder: Path, *, cases: int, feature: str = "menu", batch: int = 5000) -> str:
    """A finished run of ``feature``'s first two versions on ``cases`` built cases, stored directly; its id.

    Case ``i`` is tagged ``even``/``odd`` and ``t{i % 5}``, expects ``reject`` when ``i`` is even, and passes as
    :func:`passes` says; case 7's output carries a script payload.
    """
    run_id = new_id("run")
    with Workspace.open(folder) as ws:
        declared = ws.declared_versions(feature)[:2]
        versions = [(v.name, v.id) for v in declared]
        snapshot = [
            {"id": f"c{i:06d}", "vars": {"text": f"menu item {i}"}, "label": _label(i),
             "tags": ["even" if i % 2 == 0 else "odd", f"t{i % 5}"]}
            for i in range(cases)
        ]  # fmt: skip
        ws.store.create_run(
            run_id=run_id, feature=feature, dataset="synthetic.jsonl", dataset_sha256="0" * 64, repeats=1,
            currency="KRW", versions=versions, cases=snapshot, config={"graders": []},
        )  # fmt: skip
        for start in range(0, cases, batch):
            cells = [
                _cell(run_id, index, name, version_id, i)
                for i in range(start, min(start + batch, cases))
                for index, (name, version_id) in enumerate(versions)
            ]
            ws.store.save_cells([], cells)
        ws.store.set_run_status(run_id, "finished", None)
    return run_id


def _label(i: int) -> str:
    return "reject" if i % 2 == 0 else "approve"


def _cell(run_id: str, version: int, name: str, version_id: str, i: int) -> CellResult:
    ok = passes(version, i)
    expected = _label(i)
    predicted = expected if ok else ("approve" if expected == "reject" else "reject")
    return CellResult(
        run_id=run_id, version_id=version_id, version_name=name, case_id=f"c{i:06d}", repeat=0, output_id=None,
        status="ok", score=1.0 if ok else 0.0, passed=ok,
        grades=[Grade("decision", 1.0 if ok else 0.0, ok, predicted=predicted, expected=expected)],
        output_text=IMG_PAYLOAD if i == 7 else f'{{"decision": "{predicted}"}}', latency_ms=100.0 + i % 50,
        cost=1.0, currency="KRW", predicted_label=predicted, expected_label=expected,
    )  # fmt: skip
