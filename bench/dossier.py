"""How long `andon dossier` takes as a feature's history grows: the demo feature after N evaluation runs.

Each run evaluates the demo's cases with a rules-only version (the demo's stand-in for the model, so no model
is loaded); the dossier then rebuilds every run's report. Prints seconds to assemble, and to render Markdown
and HTML, per number of runs.

Run from the project root: ``.venv/bin/python -m bench.dossier [--runs 1 5 20]``. Results go to the terminal
and to ``bench/out/dossier.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make `andon` importable from the source tree
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from andon.demo.workspace import FEATURE, create_workspace
from andon.deploy.dossier import build_dossier
from andon.deploy.dossier_render import to_html, to_markdown
from andon.evals.evaluate import evaluate
from andon.workspace import Workspace

RULES = "v0-rules"


def demo(folder: Path) -> Path:
    """The demo workspace plus a rules-only version."""
    create_workspace(folder, "en", fresh=True)
    path = folder / "andon.yaml"
    text = path.read_text(encoding="utf-8").replace(
        "    versions:\n      v1-naive:",
        f"    versions:\n      {RULES}:\n        python: andon.demo.simulated:review\n      v1-naive:",
        1,
    )
    path.write_text(text, encoding="utf-8")
    return folder


def main() -> None:
    """Evaluate up to the largest N, timing the dossier at each N asked for."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, nargs="+", default=[1, 5, 20])
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as folder, Workspace.open(demo(Path(folder))) as ws:
        done = 0
        for target in sorted(args.runs):
            while done < target:
                evaluate(FEATURE, workspace=ws, versions=[RULES], use_cache=False)
                done += 1
            started = time.perf_counter()
            dossier = build_dossier(ws, FEATURE, language="en")
            build_s = time.perf_counter() - started
            started = time.perf_counter()
            markdown = to_markdown(dossier)
            md_s = time.perf_counter() - started
            started = time.perf_counter()
            page = to_html(dossier)
            html_s = time.perf_counter() - started
            sizes = {"markdown_kb": len(markdown.encode()) / 1024, "html_kb": len(page.encode()) / 1024}
            results.append({"runs": target, "build_s": build_s, "markdown_s": md_s, "html_s": html_s, **sizes})
    print(f"{'runs':>5} {'build s':>9} {'md s':>7} {'html s':>7} {'md KB':>7} {'html KB':>8}")
    for r in results:
        print(f"{r['runs']:>5} {r['build_s']:>9.2f} {r['markdown_s']:>7.3f} {r['html_s']:>7.3f} "
              f"{r['markdown_kb']:>7.1f} {r['html_kb']:>8.1f}")  # fmt: skip
    out = Path(__file__).resolve().parent / "out"
    out.mkdir(exist_ok=True)
    (out / "dossier.json").write_text(json.dumps(results, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
