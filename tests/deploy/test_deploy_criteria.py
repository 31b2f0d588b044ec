"""The criteria hash a run and a promotion record: same meaning, same hash; any change of meaning, a new one."""

from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from andon.deploy import criteria_record, criteria_sha256, recorded_criteria

METRICS = ["accuracy", "pass_rate", "macro_f1", "recall[reject]", "pass_all_repeats"]
OPS = [">=", "<=", ">", "<"]
Triple = tuple[str, str, int]  # metric, operator, threshold in percent
TRIPLES = st.tuples(st.sampled_from(METRICS), st.sampled_from(OPS), st.integers(min_value=0, max_value=100))


def as_fraction(t: Triple) -> str:
    return f"{t[0]} {t[1]} {t[2] / 100}"


def as_percent(t: Triple) -> str:
    return f"  {t[0]}{t[1]}{t[2]}%  "


def sha(texts: list[str], strict: bool = False) -> str:
    return criteria_sha256(criteria_record(texts, strict))


@given(st.lists(TRIPLES, min_size=1, max_size=6), st.randoms(use_true_random=False), st.booleans())
def test_spelling_order_and_repetition_do_not_change_the_hash(
    triples: list[Triple], rnd: random.Random, strict: bool
) -> None:
    written = [as_fraction(t) for t in triples]
    respelled = [as_percent(t) for t in triples] + [as_fraction(triples[0])]
    rnd.shuffle(respelled)
    assert sha(written, strict) == sha(respelled, strict)


@given(st.sets(TRIPLES, min_size=1, max_size=5), st.sets(TRIPLES, min_size=1, max_size=5))
def test_different_thresholds_have_different_hashes(a: set[Triple], b: set[Triple]) -> None:
    same = sha([as_fraction(t) for t in a]) == sha([as_percent(t) for t in b])
    assert same == (a == b)


@given(st.lists(TRIPLES, min_size=1, max_size=4))
def test_strict_is_part_of_the_criteria(triples: list[Triple]) -> None:
    texts = [as_fraction(t) for t in triples]
    assert sha(texts, strict=True) != sha(texts, strict=False)
    assert sha([], strict=True) == sha([], strict=False)  # nothing to judge strictly


def test_units_are_compared_in_the_metrics_own_unit() -> None:
    assert sha(["p95_latency_ms <= 1.5 s"]) == sha(["p95_latency_ms<=1500"]) != sha(["p95_latency_ms <= 1501"])
    assert sha(["cost_per_1k <= 3,000 KRW"]) == sha(["cost_per_1k <= 3000 KRW"]) != sha(["cost_per_1k <= 3000 USD"])


def test_the_runs_recorded_config_gives_its_criteria() -> None:
    config = {"criteria": ["accuracy >= 0.9"], "strict": True, "pass_threshold": 1.0}
    assert recorded_criteria(config) == {"criteria": ["accuracy >= 0.9"], "strict": True}
    assert recorded_criteria({"graders": []}) is None  # a run that recorded none
    assert recorded_criteria({"criteria": "accuracy >= 0.9"}) is None  # not what the runner writes
