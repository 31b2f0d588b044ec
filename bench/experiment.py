"""How the always-valid A/B test behaves when looked at after every unit, against the classic fixed-horizon test.

A/A: ``--runs`` simulated experiments of ``--units`` units with no difference (conversion ``--control``),
peeked at after every unit from ``min_samples`` per arm on: the false-positive rate of the mSPRT
(``andon.evals.sequential``), of a fixed-horizon z-test peeked at as often (the classic failure), and of that
z-test looked at once at the end. A/B: for each treatment rate, the fixed-horizon sample for 80 % power, the
mSPRT's median units to a decision (allowed up to 3× that sample), its share decided by the fixed sample and
by 3×, and decisions for the wrong arm; then the mSPRT's power (right-arm decisions by 3×) and the sample a
fixed-horizon test needs for that same power, against which the median is set. The simulations are
numpy-vectorised (``andon.evals.sequential_sim``).
JSON in bench/out/experiment.json.

Run from the project root: ``.venv/bin/python -m bench.experiment`` (``--quick`` for a smoke run, ``--help``).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import Any

import numpy as np

from andon.evals.sequential_sim import fixed_horizon_n, simulate

OUT = Path(__file__).parent / "out" / "experiment.json"


def _interval(rate: float, n: int) -> str:
    half = 1.96 * math.sqrt(max(rate * (1 - rate), 1e-12) / n)
    return f"{rate:.4f} ± {half:.4f}"


def a_a(args: argparse.Namespace) -> dict[str, Any]:
    """False-positive rates with continuous peeking, for proportions and for normal means."""
    out: dict[str, Any] = {}
    for kind, control in (("proportion", args.control), ("mean", 0.0)):
        sim = simulate(args.runs, args.units, kind=kind, control=control, treatment=control, alpha=args.alpha,
                       min_samples=args.min_samples, seed=args.seed)  # fmt: skip
        rates = {
            "msprt_peeking": float((sim.msprt_at >= 0).mean()),
            "z_test_peeking": float((sim.peeking_at >= 0).mean()),
            "z_test_once": float(sim.fixed_reject.mean()),
        }
        out[kind] = rates
        print(f"A/A {kind:10s} runs {args.runs}, {args.units} units, alpha {args.alpha}: "
              + ", ".join(f"{name} {_interval(rate, args.runs)}" for name, rate in rates.items()))  # fmt: skip
    return out


def a_b(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Units to a decision: the mSPRT (stopping when it knows) against the fixed-horizon sample of 80 % power."""
    rows = []
    for treatment in args.treatments:
        n = fixed_horizon_n(args.control, treatment, alpha=args.alpha, power=0.8)
        limit = 3 * n
        sim = simulate(args.ab_runs, limit, control=args.control, treatment=treatment, alpha=args.alpha,
                       min_samples=args.min_samples, seed=args.seed + 1)  # fmt: skip
        decided = sim.msprt_at >= 0
        at = np.where(decided, sim.msprt_at + 1, limit)
        right = decided & (sim.msprt_sign > 0)
        power = float(right.mean())
        # The fixed-horizon test that is as likely to find the effect as the mSPRT within its 3n limit.
        same = fixed_horizon_n(args.control, treatment, alpha=args.alpha, power=min(power, 0.999))
        row = {
            "control": args.control,
            "treatment": treatment,
            "fixed_horizon_units": n,
            "msprt_median_units": float(np.median(at)),
            "msprt_median_over_fixed": float(np.median(at)) / n,
            "msprt_decided_by_fixed_n": float((decided & (at <= n)).mean()),
            "msprt_decided_by_3n": float(decided.mean()),
            "msprt_wrong_arm": int((sim.msprt_sign[decided] < 0).sum()),
            "msprt_power": power,
            "msprt_power_by_fixed_n": float((right & (at <= n)).mean()),
            "fixed_horizon_units_same_power": same,
            "msprt_median_over_same_power": float(np.median(at)) / same,
            "runs": args.ab_runs,
        }
        rows.append(row)
        print(f"A/B {args.control:.2f} vs {treatment:.2f}: fixed horizon {n} units;"
              f" mSPRT median {row['msprt_median_units']:.0f} ({row['msprt_median_over_fixed']:.2f}×),"
              f" decided by n {row['msprt_decided_by_fixed_n']:.1%}, by 3n {row['msprt_decided_by_3n']:.1%},"
              f" wrong arm {row['msprt_wrong_arm']}/{args.ab_runs}; power {power:.1%}, the fixed horizon of that"
              f" power {same} units: mSPRT median {row['msprt_median_over_same_power']:.2f}× of it")  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> None:
    """Parse the options, run both simulations, print the figures and write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10_000, help="A/A experiments")
    parser.add_argument("--units", type=int, default=5_000, help="units per A/A experiment")
    parser.add_argument("--ab-runs", type=int, default=2_000, help="A/B experiments per treatment rate")
    parser.add_argument("--control", type=float, default=0.10)
    parser.add_argument("--treatments", type=float, nargs="+", default=[0.11, 0.12, 0.13, 0.15])
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--min-samples", type=int, default=100)
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--quick", action="store_true", help="a smoke run: 1,000 A/A runs, 200 A/B runs")
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.units, args.ab_runs, args.treatments = 1000, 2000, 200, [0.13]
    started = time.perf_counter()
    result = {"a_a": a_a(args), "a_b": a_b(args), "options": vars(args)}
    result["seconds"] = time.perf_counter() - started
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2), encoding="utf-8")
    print(f"{result['seconds']:.1f} s; JSON in {OUT}")


if __name__ == "__main__":
    main()
