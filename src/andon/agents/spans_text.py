"""A trace's span tree as text lines for ``andon traces show`` (rich markup escaped by the caller's rules)."""

from __future__ import annotations

from collections.abc import Sequence

from andon.agents.spans import span_tree
from andon.messages import t
from andon.store.spans import SpanRecord


def span_tree_lines(spans: Sequence[SpanRecord]) -> list[str]:
    """One plain line per span, indented under its parent: name, kind, status, time, tokens and cost."""
    lines = []
    for line in span_tree(spans):
        span = line.span
        cost = f"  {span.cost:.4g} {span.currency or ''}".rstrip() if span.cost is not None else ""
        status = "ok" if span.status == "ok" else t("agents.spans.failed", error=(span.error or span.status)[:80])
        lines.append(
            f"{'  ' * line.depth}{'└─ ' if line.depth else ''}{span.name}  [{span.kind}]  {status}  "
            f"{span.duration_ms:.1f} ms  {t('agents.spans.tokens', input=span.input_tokens, output=span.output_tokens)}"
            f"{cost}"
        )
    return lines
