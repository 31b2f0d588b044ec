"""pass^k across repeats, cost and turns per successful task: hand-computed values, properties, one real run."""

from __future__ import annotations

import itertools
import json
import math
import sys
import textwrap
from pathlib import Path

import pytest
from bench.stub import Scripted
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.console import Console
from tests.support.threaded_stub import ThreadedStub
from tests.support.tool_replies import tool_call, tool_calls_reply

import andon
from andon.config.criteria import parse_criterion
from andon.evals.report.export import report_from_dict, report_to_dict
from andon.evals.report.markdown import summary_markdown
from andon.evals.report.terminal import print_summary
from andon.evals.summarize import pass_hat_k_metric, ratio_interval

pytestmark = pytest.mark.timeout(300)


def test_pass_hat_k_by_hand() -> None:
    # 3 of 4 repeats pass: pass^2 = C(3,2)/C(4,2) = 1/2, pass^4 = 0; a case passing all 4 counts 1.
    groups = [[True, True, True, False], [True] * 4]
    assert pass_hat_k_metric(groups, 1).value == pytest.approx(7 / 8)  # type: ignore[union-attr]
    assert pass_hat_k_metric(groups, 2).value == pytest.approx((1 / 2 + 1) / 2)  # type: ignore[union-attr]
    every = pass_hat_k_metric(groups)  # k defaults to every repeat
    assert every is not None and every.value == pytest.approx(1 / 2) and every.n == 2
    assert every.low is not None and every.high is not None and every.low <= 0.5 <= every.high


def test_cases_with_fewer_repeats_than_k_are_left_out() -> None:
    metric = pass_hat_k_metric([[True, True, True], [False]], 2)
    assert metric is not None and metric.value == 1.0 and metric.n == 1
    assert pass_hat_k_metric([[True]], 2) is None and pass_hat_k_metric([], None) is None


repeats = st.lists(st.lists(st.booleans(), min_size=1, max_size=6), min_size=1, max_size=8)


def _value(groups: list[list[bool]], k: int) -> float:
    metric = pass_hat_k_metric(groups, k)
    assert metric is not None
    return metric.value


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.booleans(), min_size=4, max_size=6), min_size=1, max_size=8), st.integers(1, 4))
def test_pass_hat_k_is_a_probability_and_k1_is_the_pass_rate(groups: list[list[bool]], k: int) -> None:
    value = _value(groups, k)
    assert 0.0 <= value <= 1.0
    per_case_rate = sum(sum(g) / len(g) for g in groups) / len(groups)
    assert _value(groups, 1) == pytest.approx(per_case_rate)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.booleans(), min_size=4, max_size=6), min_size=1, max_size=8))
def test_pass_hat_k_never_grows_with_k(groups: list[list[bool]]) -> None:
    values = [_value(groups, k) for k in range(1, 5)]
    assert all(a >= b for a, b in itertools.pairwise(values))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 6), min_size=1, max_size=8), st.integers(1, 6))
def test_pass_hat_k_is_one_when_every_repeat_passes(sizes: list[int], k: int) -> None:
    groups = [[True] * n for n in sizes]
    metric = pass_hat_k_metric(groups, k)
    if max(sizes) < k:
        assert metric is None
    else:
        assert metric is not None and metric.value == 1.0 and metric.low == metric.high == 1.0


def test_cost_per_success_counts_every_cost_over_the_passes() -> None:
    # Case 1 spent 2 + 2 for one pass, case 2 spent 1 for one pass: 5 / 2 per success.
    metric = ratio_interval([[2.0, 2.0], [1.0]], [[0.0, 1.0], [1.0]], "cost_per_success", "KRW")
    assert metric.value == pytest.approx(2.5) and metric.n == 3 and metric.unit == "KRW"
    assert metric.low == 1.0 and metric.high == 4.0  # resamples: case 2 alone (1), case 1 alone (4)
    # A quarter of the resamples hold only the case that never passed: no finite upper bound.
    some = ratio_interval([[1.0], [1.0]], [[0.0], [1.0]], "cost_per_success")
    assert some.value == 2.0 and some.low == 1.0 and some.high is None
    none = ratio_interval([[1.0]], [[0.0]], "cost_per_success")
    assert math.isnan(none.value) and none.n == 0


def test_the_new_figures_are_criteria() -> None:
    assert parse_criterion("pass_hat_k >= 0.8").higher_is_better
    cost = parse_criterion("cost_per_success <= 30 KRW")
    assert cost.currency == "KRW" and not cost.higher_is_better
    assert not parse_criterion("turns_per_success <= 3").higher_is_better


# --- one run through the runner: repeats on the loopback stub, a tool called ---------------------------------

SHOP = '''\
"""Tools of the test shop."""


def lookup_order(order_id):
    return {"order_id": order_id, "status": "shipped"}
'''


def write(root: Path, base_url: str) -> None:
    (root / "traj_shop_tools.py").write_text(SHOP, encoding="utf-8")
    with (root / "cases.jsonl").open("w", encoding="utf-8") as handle:
        for case in ({"id": "a1", "vars": {"order_id": "A1"}}, {"id": "b2", "vars": {"order_id": "B2"}}):
            handle.write(json.dumps(case) + "\n")
    order = {"type": "object", "properties": {"order_id": {"type": "string"}}, "required": ["order_id"]}
    lookup = {"name": "lookup_order", "parameters": order, "python": "traj_shop_tools:lookup_order"}
    (root / "andon.yaml").write_text(
        textwrap.dedent(
            f"""\
            name: agents
            currency: KRW
            providers:
              stub: {{type: openai, base_url: "{base_url}", api_key: sk-test, model: stub-model, max_retries: 0}}
            prices:
              - {{provider: stub, model: "*", input_per_1m: 1000000, output_per_1m: 1000000, currency: KRW}}
            features:
              orders:
                dataset: cases.jsonl
                repeats: 4
                pass_k: 2
                graders:
                  - {{type: tool-called, tool: lookup_order, arguments: {{order_id: "{{{{ order_id }}}}"}}}}
                criteria: ["pass_hat_k >= 0.9", "cost_per_success <= 1000 KRW"]
                versions:
                  v1:
                    steps:
                      - name: main
                        provider: stub
                        prompt: "Where is order {{{{ order_id }}}}?"
                        tools: [{json.dumps(lookup)}]
            """
        ),
        encoding="utf-8",
    )


def looked_up(order: str, n: int) -> list[Scripted]:
    return [tool_calls_reply(tool_call(f"c{n}", "lookup_order", {"order_id": order})), Scripted(content="Shipped.")]


def test_a_run_with_repeats_reports_pass_hat_k_and_cost_per_success(tmp_path: Path) -> None:
    sys.path.insert(0, str(tmp_path))
    try:
        with ThreadedStub(echo=True) as stub:
            write(tmp_path, stub.base_url)
            # One worker runs cells case by case, repeat by repeat: a1 skips its lookup on the last repeat.
            a1 = [*looked_up("A1", 1), *looked_up("A1", 2), *looked_up("A1", 3), Scripted(content="Shipped.")]
            b2 = [reply for n in range(4) for reply in looked_up("B2", 10 + n)]
            stub.program(*a1, *b2)
            report = andon.evaluate("orders", workspace=tmp_path, concurrency=1, use_cache=False)
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("traj_shop_tools", None)
    [summary] = report.summaries
    m = summary.metrics
    passed = {(c.case_id, c.repeat): c.passed for c in report.cells}
    assert passed == {**{("a1", r): r < 3 for r in range(4)}, **{("b2", r): True for r in range(4)}}
    assert m["pass_rate"].value == pytest.approx(7 / 8)
    assert m["pass_all_repeats"].value == pytest.approx(1 / 2)
    assert m["pass_hat_k"].value == pytest.approx((1 / 2 + 1) / 2)  # pass_k: 2 from andon.yaml
    assert m["pass_hat_k"].low is not None and m["pass_hat_k"].high is not None
    costs = [c.cost for c in report.cells]
    assert all(c is not None and c > 0 for c in costs)
    assert m["cost_per_success"].value == pytest.approx(sum(c or 0.0 for c in costs) / 7)
    assert m["cost_per_success"].value > m["cost_per_case"].value  # a failure's spend is carried by the successes
    assert m["turns_per_success"].value == 1.0  # one model step each (its tool round inside it)
    figures = {(c.case_id, c.repeat): g.figures for c in report.cells for g in c.grades if g.grader == "trajectory"}
    assert figures[("a1", 3)] == {"turns": 1.0, "tool_calls": 0.0, "handoffs": 0.0, "clarified": 0.0, "limit": 0.0}
    assert figures[("b2", 0)]["tool_calls"] == 1.0  # type: ignore[index]
    verdicts = {c.metric: c.passed for c in summary.criteria}
    assert verdicts == {"pass_hat_k": False, "cost_per_success": True}
    markdown = summary_markdown(report)
    assert "pass^k" in markdown and "Cost per successful task" in markdown and "Turns per successful task" in markdown
    assert "Passes every repeat" in markdown
    assert "성공한 작업당 비용" in summary_markdown(report, "ko")
    console = Console(record=True, width=200)
    print_summary(report, console)
    terminal = console.export_text()
    row = next(line for line in terminal.splitlines() if "pass^k" in line)
    assert "75.0%" in row  # a share, shown as one
    data = json.loads(json.dumps(report_to_dict(report)))
    assert data["summaries"][0]["metrics"]["pass_hat_k"]["value"] == pytest.approx(0.75)
    assert report_from_dict(data).summaries[0].metrics["cost_per_success"] == m["cost_per_success"]
