"""``andon power``: cases needed for a difference, or the difference detectable with the cases you have."""

from __future__ import annotations

from typing import Annotated

import typer

from andon.cli._common import console, print_json
from andon.errors import ConfigError
from andon.evals import power as pw
from andon.messages import t

power_app = typer.Typer(
    help="Power: the cases needed to detect a difference, or the difference detectable with n cases.",
    no_args_is_help=True,
)

Alpha = Annotated[float, typer.Option("--alpha", help="Significance level (two-sided).")]
Power = Annotated[float, typer.Option("--power", help="Chance of detecting the difference when it is real.")]
Difference = Annotated[float | None, typer.Option("--difference", "-d", help="The difference to detect.")]
Cases = Annotated[
    int | None, typer.Option("--n", help="Cases you have (per version): gives the detectable difference.")
]
AsJson = Annotated[bool, typer.Option("--json", help="Print as JSON.")]


def _one_of(difference: float | None, n: int | None) -> None:
    if (difference is None) == (n is None):
        raise ConfigError(t("evalcal.power.one_of"), hint=t("evalcal.power.one_of_hint"))


def _show(result: pw.PowerResult, as_json: bool, design: str, *, share: bool = True) -> None:
    if as_json:
        print_json({"design": result.design, "n": result.n, "difference": result.difference, "alpha": result.alpha,
                    "power": result.power})  # fmt: skip
        return
    if result.difference is None:
        console.print(t("evalcal.power.none", n=result.n, power=f"{result.power:.0%}", design=design))
        return
    shown = f"{result.difference:.4g}" + (f" ({result.difference * 100:+.1f} %p)" if share else "")
    console.print(
        t("evalcal.power.answer", n=result.n, difference=shown, power=f"{result.power:.0%}",
          alpha=f"{result.alpha:g}", design=design)
    )  # fmt: skip


@power_app.command()
def paired(
    discordance: Annotated[
        float, typer.Option("--discordance", help="Expected share of cases the two versions disagree on, e.g. 0.2.")
    ],
    difference: Difference = None,
    n: Cases = None,
    alpha: Alpha = 0.05,
    power: Power = 0.8,
    as_json: AsJson = False,
) -> None:
    """Two versions on the same cases (McNemar): pairs needed, or the detectable difference with --n."""
    _one_of(difference, n)
    if difference is not None:
        result = pw.PowerResult("paired", pw.paired_n(difference, discordance, alpha, power), difference, alpha, power)
    else:
        assert n is not None
        result = pw.PowerResult(
            "paired", n, pw.paired_difference_detectable(n, discordance, alpha, power), alpha, power
        )
    _show(result, as_json, t("evalcal.power.design.paired", discordance=f"{discordance:g}"))


@power_app.command()
def proportions(
    rate: Annotated[float, typer.Option("--p", help="The rate you expect today, e.g. 0.9.")],
    difference: Difference = None,
    n: Cases = None,
    alpha: Alpha = 0.05,
    power: Power = 0.8,
    decrease: Annotated[
        bool, typer.Option("--decrease", help="With --n: the detectable fall instead of rise.")
    ] = False,
    no_continuity: Annotated[
        bool, typer.Option("--no-continuity", help="Without Fleiss' continuity correction.")
    ] = False,
    as_json: AsJson = False,
) -> None:
    """Two independent samples of a rate: cases per group needed, or the detectable difference with --n."""
    _one_of(difference, n)
    continuity = not no_continuity
    if difference is not None:
        needed = pw.proportions_n(rate, rate + difference, alpha, power, continuity=continuity)
        result = pw.PowerResult("proportions", needed, difference, alpha, power)
    else:
        assert n is not None
        found = pw.proportion_difference_detectable(n, rate, alpha, power, continuity=continuity, decrease=decrease)
        result = pw.PowerResult("proportions", n, -found if decrease and found is not None else found, alpha, power)
    _show(result, as_json, t("evalcal.power.design.proportions", p=f"{rate:g}"))


@power_app.command()
def means(
    sd: Annotated[float, typer.Option("--sd", help="Standard deviation of the measure (e.g. of a score).")],
    difference: Difference = None,
    n: Cases = None,
    alpha: Alpha = 0.05,
    power: Power = 0.8,
    as_json: AsJson = False,
) -> None:
    """Two independent samples of a mean (t-test): cases per group needed, or the detectable difference."""
    _one_of(difference, n)
    if difference is not None:
        result = pw.PowerResult("means", pw.means_n(difference, sd, alpha, power), difference, alpha, power)
    else:
        assert n is not None
        result = pw.PowerResult("means", n, pw.mean_difference_detectable(n, sd, alpha, power), alpha, power)
    _show(result, as_json, t("evalcal.power.design.means", sd=f"{sd:g}"), share=False)


def register(app: typer.Typer) -> None:
    """Add ``andon power`` to the app."""
    app.add_typer(power_app, name="power")
