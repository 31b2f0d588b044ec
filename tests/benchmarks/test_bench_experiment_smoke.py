"""bench/experiment.py's A/B rows, on a small run: the power and the fixed horizon of that same power agree with
the other figures of the row (the full run's figures are in bench/README.md)."""

from __future__ import annotations

import argparse

from bench.experiment import a_b

from andon.evals.sequential_sim import fixed_horizon_n


def test_the_ab_rows_report_power_and_the_fixed_horizon_of_that_power() -> None:
    args = argparse.Namespace(control=0.10, treatments=[0.20], alpha=0.05, min_samples=50, seed=3, ab_runs=150)
    (row,) = a_b(args)
    assert 0.0 <= row["msprt_power_by_fixed_n"] <= row["msprt_decided_by_fixed_n"]
    assert row["msprt_power_by_fixed_n"] <= row["msprt_power"] <= row["msprt_decided_by_3n"]
    assert row["msprt_power"] > 0.8  # a doubled conversion rate is found within 3× the 80 %-power sample
    same = row["fixed_horizon_units_same_power"]
    assert same == fixed_horizon_n(0.10, 0.20, power=min(row["msprt_power"], 0.999))  # a power of 1 needs no bound
    assert same > row["fixed_horizon_units"]
    assert row["msprt_median_over_same_power"] == row["msprt_median_units"] / same
