"""``andon compare A B [C …]``: each B against A; with several, Holm-adjusted p-values and which differences survive."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

from andon.cli._common import console, open_workspace, print_json
from andon.evals.compare import compare_cells
from andon.evals.compare_many import holm_rows
from andon.evals.model import Comparison
from andon.messages import current_language, t

__all__ = ["compare_family"]


def compare_family(
    a: str,
    bs: Sequence[str],
    run: str | None,
    as_json: bool,
    *,
    side: Callable[..., Any],
    alpha_of: Callable[..., float],
) -> None:
    """Compare every B against A; one B prints as before, several add the Holm block (JSON: ``holm``).

    ``side`` resolves a reference to a run's version and ``alpha_of`` a feature's alpha (eval_cmds' own).
    """
    from andon.evals.report import terminal
    from andon.evals.report.detectable import detectable

    comparisons: list[Comparison] = []
    with open_workspace() as ws:
        currency = ws.config.currency
        side_a = side(ws, a, run)
        alphas = [alpha_of(ws, side_a.run.feature)]
        for b in bs:
            first, side_b = side_a, side(ws, b, run)
            if first.run.id == side_b.run.id:  # one run: the version names say it all
                first = first._replace(label=first.label.split(" (")[0])
                side_b = side_b._replace(label=side_b.label.split(" (")[0])
            alpha = min(alpha_of(ws, side_a.run.feature), alpha_of(ws, side_b.run.feature))
            alphas.append(alpha)
            comparisons.append(
                compare_cells(first.label, first.version_id, first.cells, side_b.label, side_b.version_id,
                              side_b.cells, alpha)
            )  # fmt: skip
    family_alpha = min(alphas)
    rows = holm_rows(comparisons, family_alpha) if len(comparisons) > 1 else []
    if as_json:
        items = [dataclasses.asdict(c) | {"detectable": detectable(c)} for c in comparisons]
        if not rows:
            print_json(items[0])
            return
        print_json({"comparisons": items, "holm": [dataclasses.asdict(r) for r in rows], "alpha": family_alpha})
        return
    language = current_language()
    for comparison in comparisons:
        terminal.print_comparison(comparison, console, language=language, currency=currency)
    if not rows:
        return
    console.print()
    baseline = comparisons[0].a_name
    console.print(
        t("evalfin.holm.title", language=language, baseline=baseline, m=len(rows), alpha=f"{family_alpha:g}"),
        style="bold", markup=False, highlight=False,
    )  # fmt: skip
    for row in rows:
        verdict = t("evalfin.holm.survives" if row.survives else "evalfin.holm.not_survives", language=language)
        line = t(
            "evalfin.holm.row",
            language=language,
            version=row.version,
            p=f"{row.p:.3g}",
            adjusted=f"{row.adjusted:.3g}",
            verdict=f"{row.verdict}; {verdict}" if row.survives else verdict,
        )
        console.print(line, markup=False, highlight=False)  # fmt: skip
