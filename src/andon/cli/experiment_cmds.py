"""`andon experiment start|status|stop`: A/B experiments of a feature's versions on live traffic."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.markup import escape

from andon.cli._common import console, open_workspace, print_json
from andon.deploy import experiment as experiments
from andon.messages import t
from andon.store.experiments import ExperimentRecord

experiment_app = typer.Typer(
    help="A/B experiments: sticky arms on live traffic, an always-valid test that stops when it knows.",
    no_args_is_help=True,
)

FeatureArg = Annotated[str, typer.Argument(help="Feature name.")]
ActorOption = Annotated[
    str | None, typer.Option("--actor", help="Who is acting (default: $USER, else git config user.name).")
]
ReasonOption = Annotated[str | None, typer.Option("--reason", help="Why (recorded).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print as JSON.")]


@experiment_app.command()
def start(
    feature: FeatureArg,
    name: Annotated[str, typer.Argument(help="The experiment: its key under the feature's `experiments:`.")],
    reason: ReasonOption = None,
    actor: ActorOption = None,
    as_json: JsonOption = False,
) -> None:
    """Start FEATURE's experiment NAME: its arms take the traffic, each unit sticking to one."""
    with open_workspace() as ws:
        record = experiments.start_experiment(ws, feature, name, actor=actor, reason=reason)
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
