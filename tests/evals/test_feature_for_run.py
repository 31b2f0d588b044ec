"""A stored run's feature settings are read from the keys the runner records, never from other records beside them."""

from __future__ import annotations

from datetime import UTC, datetime

from andon.evals.build import feature_for_run
from andon.store.records import RunRecord


def run_with(config: dict[str, object]) -> RunRecord:
    return RunRecord(
        id="run_1", feature="f", status="finished", created_at=datetime(2026, 12, 2, tzinfo=UTC), finished_at=None,
        dataset="cases.yaml", dataset_sha256="0" * 64, repeats=1, currency="KRW", versions=[("v", "ver_1")],
        n_cases=2, config=config,
    )  # fmt: skip


def test_a_robustness_runs_pairs_are_not_read_as_the_features_robustness_settings() -> None:
    # The robustness suite records its pairs under "robustness", which is also a feature field: reading it as the
    # feature's settings made every view of such a run (its report, the dossier) fail validation.
    run = run_with(
        {
            "criteria": ["pass_rate >= 0.5"],
            "alpha": 0.1,
            "slice": {"limit": 2},
            "robustness": {"pairs": {"a~spacing": {"of": "a", "perturbation": "spacing"}}},
        }
    )
    feature = feature_for_run(run, None)
    assert feature.criteria == ["pass_rate >= 0.5"] and feature.alpha == 0.1
    assert feature.robustness is None
