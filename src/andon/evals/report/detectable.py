"""Beside "no detectable difference": the smallest pass-rate difference these pairs could have detected."""

from __future__ import annotations

from typing import Any

from andon.evals.model import Comparison
from andon.evals.power import paired_difference_detectable
from andon.messages import t

__all__ = ["POWER", "detectable", "detectable_line"]

POWER = 0.8


def detectable(cmp: Comparison) -> dict[str, Any] | None:
    """McNemar's minimum detectable difference at 80% power with the observed discordance; None without pairs."""
    if cmp.n_pairs == 0:
        return None
    discordance = (cmp.mcnemar_b + cmp.mcnemar_c) / cmp.n_pairs
    difference = None
    if discordance > 0:
        difference = paired_difference_detectable(cmp.n_pairs, discordance, cmp.alpha, POWER)
    return {"difference": difference, "discordance": discordance, "n": cmp.n_pairs, "power": POWER,
            "alpha": cmp.alpha, "method": "McNemar (Connor 1987)"}  # fmt: skip


def detectable_line(cmp: Comparison, language: str = "en") -> str | None:
    """The sentence for a comparison with no detectable difference (None for any other verdict)."""
    if cmp.verdict != "no detectable difference":
        return None
    found = detectable(cmp)
    if found is None:
        return None
    if found["discordance"] == 0:
        return t("evalcal.compare.no_discordance", language=language, n=cmp.n_pairs)
    if found["difference"] is None:
        return t("evalcal.compare.too_few", language=language, n=cmp.n_pairs,
                 discordance=f"{found['discordance']:.1%}")  # fmt: skip
    return t(
        "evalcal.compare.detectable", language=language, n=cmp.n_pairs, difference=f"{found['difference']:.1%}",
        discordance=f"{found['discordance']:.1%}", power=f"{POWER:.0%}", alpha=f"{cmp.alpha:g}",
    )  # fmt: skip
