"""What `andon demo` prints of its run (``demo_cmds.print_results``): each version's slices and the routing
suggestion on the label's token-logprob confidence — on a small run of the demo workspace, its model step
answered by the loopback OpenAI-compatible stub (with logprobs) instead of the embedded model."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import yaml
from bench.stub import Scripted
from rich.console import Console
from tests.support.threaded_stub import ThreadedStub

from andon.cli.demo_cmds import DEMO_ROUTING_TARGET, print_results
from andon.cli.eval_cmds import conversion
from andon.demo.workspace import FEATURE, create_workspace
from andon.evals.build import build_report, feature_for_run
from andon.evals.plan import plan_run
from andon.evals.runner import run_evaluation
from andon.evals.slicing import CaseSlice
from andon.workspace import Workspace

CASES = 4


def _reply(decision: str, logprob: float) -> dict[str, Any]:
    """A review answer whose decision tokens carry ``logprob`` in all (OpenAI's ``logprobs.content`` shape)."""
    pieces = [('{"violations": [], "decision": "', -0.01), (decision[:3], logprob / 2), (decision[3:], logprob / 2),
              ('"}', -0.02)]  # fmt: skip
    content = [{"token": tok, "logprob": lp, "bytes": list(tok.encode()), "top_logprobs": []} for tok, lp in pieces]
    return {"id": "x", "object": "chat.completion", "model": "stub-model",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "".join(p for p, _ in pieces)},
                         "finish_reason": "stop", "logprobs": {"content": content}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": len(pieces)}}  # fmt: skip


def _on_stub(root: Path, base_url: str) -> None:
    """The demo's andon.yaml with its ``local`` provider pointed at the stub (same name: versions and prices hold)."""
    path = root / "andon.yaml"
    config = yaml.safe_load(path.read_text(encoding="utf-8"))
    config["providers"]["local"] = {"type": "openai", "base_url": base_url, "api_key": "sk-stub",
                                    "model": "stub-model", "max_retries": 0}  # fmt: skip
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")


def test_the_demo_prints_each_versions_slices_and_the_routing_suggestion(tmp_path: Path) -> None:
    root = create_workspace(tmp_path / "demo", "en", fresh=True)
    with ThreadedStub(reply="unused") as stub:
        # More answers than model calls (v3's rules may decide some cases alone); unused ones stay queued.
        stub.program(*[Scripted(body=_reply(("approve", "reject")[i % 2], -0.05 * (i + 1))) for i in range(3 * CASES)])
        _on_stub(root, stub.base_url)
        with Workspace.open(root) as ws:
            plan = plan_run(ws, FEATURE, repeats=1, case_slice=CaseSlice(limit=CASES))

            async def go() -> str:
                try:
                    return (await run_evaluation(ws, FEATURE, plan.versions, plan.dataset, repeats=1)).run_id
                finally:
                    await ws.aclose_providers()

            run = ws.store.get_run(asyncio.run(go()))
            report = build_report(ws.store, run, feature_for_run(run, ws.config.features[FEATURE]), conversion(ws),
                                  workspace=ws.root, compare=("v2-structured", "v3-hybrid"))  # fmt: skip
        received = stub.received
    assert len(received) >= 2 * CASES and all(r.body.get("logprobs") is True for r in received)

    out = Console(record=True, width=400, color_system=None)
    print_results(report, out, "en")
    text = out.export_text()
    names = [name for name, _ in run.versions]
    assert names == ["v1-naive", "v2-structured", "v3-hybrid"]
    for name in names:  # the slices of every version, with their intervals (never bare percentages)
        assert f"Slices — {name}" in text, text[-3000:]
    slice_rows = [line for line in text.splitlines() if "photo:" in line]
    assert slice_rows and all(re.search(r"\d+(\.\d+)?% \[\d+(\.\d+)?%, \d+(\.\d+)?%\]", r) for r in slice_rows)
    # One routing paragraph per version, on the label's confidence from its token logprobs, aimed at the target.
    routing = [line for line in text.splitlines() if "(logprob:decision" in line]
    assert [line.split(":")[0].strip() for line in routing] == names, text[-3000:]
    assert all(DEMO_ROUTING_TARGET in line for line in routing)
    # Four answers cannot show 90% precision at 95% confidence (0.9⁴ > 0.025): the demo says so, naming the count.
    assert 0.9**CASES > 0.025 and all(f"on these {CASES} answers" in line for line in routing)
