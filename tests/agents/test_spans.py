"""Spans from a trace's provenance: the tree, GenAI attribute names, and the order ``traces show`` prints."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from andon.agents.spans import span_tree, trace_spans
from andon.agents.spans_text import span_tree_lines
from andon.store.records import OutputRecord, TraceRecord
from andon.store.spans import SpanRecord

T0 = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def step(name: str, provider: str, start_ms: int, end_ms: int, **extra: object) -> dict[str, object]:
    return {
        "name": name,
        "provider": provider,
        "model": "gpt-x" if provider != "python" else "rules:check",
        "params": {"temperature": 0.2},
        "started_at": (T0 + timedelta(milliseconds=start_ms)).isoformat(),
        "finished_at": (T0 + timedelta(milliseconds=end_ms)).isoformat(),
        **extra,
    }


def trace_and_output() -> tuple[TraceRecord, OutputRecord]:
    trace = TraceRecord(
        id="trc_1",
        feature="support",
        route="ai",
        status="ok",
        input_mode="full",
        input=None,
        input_hash="0" * 64,
        created_at=T0 + timedelta(milliseconds=900),
        version_id="v" * 64,
        version_name="v1",
        input_tokens=30,
        output_tokens=7,
        cost=0.5,
        currency="KRW",
        latency_ms=1000.0,
        session_id="conv-9",
    )
    output = OutputRecord(
        id="out_1",
        feature="support",
        version_id="v" * 64,
        provider="openai",
        model="gpt-x",
        params={},
        messages=[],
        status="ok",
        started_at=T0,
        finished_at=T0 + timedelta(milliseconds=800),
        steps=[
            step("screen", "python", 0, 5),
            step("main", "openai", 5, 800, input_tokens=30, output_tokens=7, cost=0.5, currency="KRW"),
            step("check", "python", 800, 801, error="the rule broke"),
        ],
    )
    return trace, output


def test_a_trace_becomes_a_call_span_with_one_child_per_step() -> None:
    trace, output = trace_and_output()
    spans = trace_spans(trace, [output])
    root, rule, model, broken = spans
    assert (root.parent_id, root.kind, root.name) == (None, "call", "invoke_agent support")
    assert root.attributes["gen_ai.operation.name"] == "invoke_agent"
    assert root.attributes["gen_ai.agent.name"] == "support" and root.attributes["gen_ai.conversation.id"] == "conv-9"
    assert root.duration_ms == 1000.0 and root.started_at == T0 - timedelta(milliseconds=100)
    assert {s.parent_id for s in spans[1:]} == {root.id}
    assert (model.kind, model.name, model.duration_ms) == ("model", "chat gpt-x", 795.0)
    assert model.attributes == {
        "andon.step": "main",
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-x",
        "gen_ai.usage.input_tokens": 30,
        "gen_ai.usage.output_tokens": 7,
        "gen_ai.request.temperature": 0.2,
        "gen_ai.conversation.id": "conv-9",
    }
    assert (model.input_tokens, model.output_tokens, model.cost, model.currency) == (30, 7, 0.5, "KRW")
    assert rule.kind == "rule" and "gen_ai.operation.name" not in rule.attributes
    assert (broken.status, broken.error, broken.attributes["error.type"]) == (
        "error",
        "the rule broke",
        "andon.step_error",
    )
    assert len({s.id for s in spans}) == 4


def test_the_printed_tree_indents_children_under_the_call() -> None:
    trace, output = trace_and_output()
    lines = span_tree_lines(trace_spans(trace, [output]))
    assert lines[0].startswith("invoke_agent support  [call]  ok  1000.0 ms  30+7 tokens  0.5 KRW")
    assert lines[2].startswith("  └─ chat gpt-x  [model]  ok  795.0 ms")
    assert "error: the rule broke" in lines[3]


def make_span(i: int, parent: int | None) -> SpanRecord:
    at = T0 + timedelta(seconds=i)
    return SpanRecord(f"s{i}", "t", None if parent is None else f"s{parent}", "model", f"n{i}", "ok", at, at)


@given(st.lists(st.integers(min_value=-1, max_value=30), max_size=30))
def test_every_span_is_printed_once_and_after_its_parent(parents: list[int]) -> None:
    # Parent -1 is a root; a parent beyond the list is an orphan (printed as a root); cycles are possible.
    spans = [make_span(i, None if p < 0 else p) for i, p in enumerate(parents)]
    order = span_tree(spans)
    ids = [line.span.id for line in order]
    assert len(ids) == len(set(ids))
    position = {sid: n for n, sid in enumerate(ids)}
    for line in order:
        parent = line.span.parent_id
        if parent in position and line.depth > 0:
            assert position[parent] < position[line.span.id]
    assert len(ids) == len(spans)  # spans only in a cycle are printed too, from the earliest
