"""Criteria on a named grader (``pass_rate[polite] >= 0.9``), with "did you mean" for metrics and grader names."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import ValidationError

from andon.config.criteria import check_grader_names, parse_criterion, unique_grader_names
from andon.config.schema import FeatureConfig, GraderSpec


def test_a_criterion_may_name_a_grader() -> None:
    criterion = parse_criterion("pass_rate[polite] >= 90%")
    assert (criterion.metric, criterion.label, criterion.key, criterion.threshold) == (
        "pass_rate", "polite", "pass_rate[polite]", 0.9,
    )  # fmt: skip
    assert criterion.higher_is_better
    check_grader_names(["pass_rate[polite] >= 0.9"], ["label:decision", "polite"])


def test_unknown_metrics_and_grader_names_suggest_the_closest() -> None:
    with pytest.raises(ValueError, match="did you mean 'accuracy'"):
        parse_criterion("acuracy >= 0.9")
    with pytest.raises(ValueError, match=r"no grader named 'plite'.*did you mean 'polite'\?.*graders: label, polite"):
        check_grader_names(["pass_rate[plite] >= 0.9"], ["label", "polite"])
    with pytest.raises(ValueError, match="takes no"):
        parse_criterion("accuracy[polite] >= 0.9")


def test_the_feature_config_checks_grader_names() -> None:
    graders = [GraderSpec(type="label", name="decision"), GraderSpec(type="contains", value="x")]
    FeatureConfig(graders=graders, criteria=["pass_rate[decision] >= 0.9", "pass_rate[contains] >= 0.5"])
    with pytest.raises(ValidationError, match="did you mean 'decision'"):
        FeatureConfig(graders=graders, criteria=["pass_rate[decison] >= 0.9"])


def test_repeated_labels_are_told_apart() -> None:
    assert unique_grader_names(["contains", "label", "contains", "contains"]) == [
        "contains", "label", "contains#2", "contains#3",
    ]  # fmt: skip


names = st.text(alphabet=st.sampled_from("ab:_-.정#2"), min_size=1, max_size=6)


@given(labels=st.lists(names, min_size=1, max_size=6), pick=st.integers(0, 5))
@example(labels=["a", "a#2", "a"], pick=2)  # a label that looks like a generated name
def test_every_grader_name_is_accepted_and_names_are_unique(labels: list[str], pick: int) -> None:
    unique = unique_grader_names(labels)
    assert len(set(unique)) == len(unique) == len(labels)
    name = unique[pick % len(unique)]
    criterion = parse_criterion(f"pass_rate[{name}] >= 0.5")
    assert criterion.label == name
    check_grader_names([criterion.text], labels)
