"""`andon experiment start|status|stop`: A/B experiments of a feature's versions on live traffic."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape

from andon.cli._common import console, open_workspace, print_json
from andon.cli._options import ActorOption, FeatureArg, JsonOption, ReasonOption
from andon.deploy import experiment as experiments
from andon.errors import ConfigError
from andon.messages import t
from andon.store.experiments import ExperimentRecord

experiment_app = typer.Typer(
    help="A/B experiments: sticky arms on live traffic, an always-valid test that stops when it knows.",
    no_args_is_help=True,
)


@experiment_app.command()
def start(
    feature: FeatureArg,
    versions: Annotated[
        list[str],
        typer.Argument(
            metavar="NAME | A B …",
            help="An experiment's key under the feature's `experiments:`, or two or more versions (the first is the "
            "control) for an experiment set by the options below.",
        ),
    ],
    metric: Annotated[
        str | None,
        typer.Option("--metric", help="With versions: the primary metric (conversion, value:EVENT, error_rate, …)."),
    ] = None,
    split: Annotated[
        str | None, typer.Option("--split", help="With versions: percent per version, like 50/50 (default: equal).")
    ] = None,
    guardrail: Annotated[
        list[str] | None,
        typer.Option("--guardrail", help="With versions: a metric that stops the experiment when an arm worsens it."),
    ] = None,
    unit: Annotated[
        str | None, typer.Option("--unit", help="With versions: what keeps one arm: user (default), session, tenant.")
    ] = None,
    alpha: Annotated[float | None, typer.Option("--alpha", help="With versions: the error guarantee (0.05).")] = None,
    min_samples: Annotated[
        int | None, typer.Option("--min-samples", help="With versions: samples per arm before the first look (100).")
    ] = None,
    max_samples: Annotated[
        int | None, typer.Option("--max-samples", help="With versions: units in all, then it stops undecided.")
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="With versions: the name it is recorded under (default: A-vs-B).")
    ] = None,
    reason: ReasonOption = None,
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Start an experiment on FEATURE: its arms take the traffic, each unit sticking to one.

    `andon experiment start FEATURE NAME` starts the `experiments:` entry NAME of andon.yaml;
    `andon experiment start FEATURE v1 v2 --metric conversion --split 50/50` one set by the options.
    """
    options = {"--metric": metric, "--split": split, "--guardrail": guardrail, "--unit": unit, "--alpha": alpha,
               "--min-samples": min_samples, "--max-samples": max_samples, "--name": name}  # fmt: skip
    given = [flag for flag, value in options.items() if value is not None]
    with open_workspace() as ws:
        if len(versions) == 1:
            if given:
                raise ConfigError(t("experiment.adhoc.name_only", flags=", ".join(given)), where="NAME",
                                  hint=t("experiment.adhoc.name_only_hint", name=versions[0]))  # fmt: skip
            record = experiments.start_experiment(ws, feature, versions[0], actor=actor, reason=reason)
        else:
            settings = experiments.adhoc_config(versions, metric=metric, split=split, guardrails=guardrail, unit=unit,
                                                alpha=alpha, min_samples=min_samples, max_samples=max_samples)  # fmt: skip
            record = experiments.start_experiment(ws, feature, name or experiments.adhoc_name(versions),
                                                  settings=settings, actor=actor, reason=reason)  # fmt: skip
    if as_json:
        print_json(_json(record))
        return
    arms = ", ".join(f"{a['label']}={a['version_name']} {a['weight'] / 100:g} %" for a in record.settings["arms"])
    console.print(t("experiment.cli.started", id=record.id, name=escape(record.name), feature=escape(feature),
                    arms=escape(arms)))  # fmt: skip


@experiment_app.command()
def status(feature: FeatureArg, as_json: JsonOption = False) -> None:
    """Show FEATURE's newest experiment: arms, each metric's always-valid result, and the decision.

    A running experiment is looked at now (and stops if it knows); a finished one shows its last results.
    """
    with open_workspace() as ws:
        records = ws.store.list_experiments(feature) if feature in ws.config.features else None
        if records is None:
            ws.feature(feature)  # the not-found error listing the features
            return
        if not records:
            if as_json:
                print_json(None)
            else:
                console.print(t("experiment.cli.none", feature=escape(feature)))
            return
        record = records[0]
        units: dict[str, int] = {}
        if record.active:
            seen = experiments.look(ws, record)
            record, units = seen.record, seen.units
    _show(record, units, as_json)


@experiment_app.command()
def stop(
    feature: FeatureArg, reason: ReasonOption = None, actor: ActorOption = None, as_json: JsonOption = False
) -> None:
    """Stop FEATURE's running experiment: every unit goes back to the live version; its results stay."""
    with open_workspace() as ws:
        seen = experiments.stop_experiment(ws, feature, actor=actor, reason=reason)
    if as_json:
        _show(seen.record, seen.units, True)
        return
    console.print(t("experiment.cli.stopped", id=seen.record.id, feature=escape(feature)))
    _show(seen.record, seen.units, False)


def _json(record: ExperimentRecord, units: dict[str, int] | None = None) -> dict[str, Any]:
    return {
        "id": record.id,
        "feature": record.feature,
        "name": record.name,
        "status": record.status,
        "metric": record.settings["config"]["metric"],
        "arms": [a | {"units": (units or {}).get(a["label"])} for a in record.settings["arms"]],
        "results": record.results,
        "decision": record.decision,
        "started_at": record.created_at.isoformat(),
        "finished_at": record.finished_at.isoformat() if record.finished_at else None,
    }


def _fmt(value: Any) -> str:
    if value is None:
        return "-"  # an unbounded side of an interval (too few samples yet)
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _show(record: ExperimentRecord, units: dict[str, int], as_json: bool) -> None:
    if as_json:
        print_json(_json(record, units))
        return
    console.print(t("experiment.cli.header", id=record.id, name=escape(record.name), feature=escape(record.feature),
                    status=record.status))  # fmt: skip
    for arm in record.settings["arms"]:
        console.print(t("experiment.cli.arm", label=arm["label"], version=escape(arm["version_name"]),
                        weight=f"{arm['weight'] / 100:g}", units=units.get(arm["label"], "-")))  # fmt: skip
    for metric, by_arm in record.results.items():
        for label, r in by_arm.items():
            console.print(t("experiment.cli.metric", metric=escape(metric), label=label, control=_fmt(r["control_mean"]),
                            treatment=_fmt(r["treatment_mean"]), estimate=_fmt(r["estimate"]), low=_fmt(r["low"]),
                            high=_fmt(r["high"]), p=_fmt(r["p_value"]), n_control=r["n_control"],
                            n_treatment=r["n_treatment"]))  # fmt: skip
    if record.decision:
        details = ", ".join(f"{k}={_fmt(v)}" for k, v in record.decision.items() if k != "outcome")
        console.print(t("experiment.cli.decision", outcome=record.decision["outcome"], details=escape(details)))
    else:
        console.print(t("experiment.cli.undecided"))


def register(app: typer.Typer) -> None:
    """Add `andon experiment`."""
    app.add_typer(experiment_app, name="experiment")
