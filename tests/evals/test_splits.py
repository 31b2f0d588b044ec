"""The improvement loop's split by case-id hash: disjoint, deterministic, and stable when cases are added."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from andon.errors import ConfigError
from andon.evals.splits import Split
from andon.messages import set_language


@dataclass(frozen=True)
class _Case:
    id: str


ids = st.lists(st.text(min_size=1, max_size=20), unique=True, max_size=60)
shares = st.floats(min_value=0.05, max_value=0.95)
salts = st.text(max_size=10)


@given(ids, shares, salts)
def test_every_case_is_on_exactly_one_side(case_ids: list[str], share: float, salt: str) -> None:
    learn, judge = Split(salt, share).divide([_Case(i) for i in case_ids])
    assert not {c.id for c in learn} & {c.id for c in judge}
    assert sorted(c.id for c in learn + judge) == sorted(case_ids)


@given(ids, ids, shares, salts)
def test_adding_or_reordering_cases_never_moves_a_case(
    before: list[str], added: list[str], share: float, salt: str
) -> None:
    split = Split(salt, share)
    _, judge = split.divide([_Case(i) for i in before])
    grown = [_Case(i) for i in reversed(list(dict.fromkeys(added + before)))]
    _, judge_after = split.divide(grown)
    kept = set(before)
    assert {c.id for c in judge_after if c.id in kept} == {c.id for c in judge}


@given(ids, shares, salts)
def test_the_same_ids_give_the_same_split_in_dataset_order(case_ids: list[str], share: float, salt: str) -> None:
    cases = [_Case(i) for i in case_ids]
    first, second = Split(salt, share).divide(cases), Split(salt, share).divide(list(cases))
    assert first == second
    for side in first:
        assert [case_ids.index(c.id) for c in side] == sorted(case_ids.index(c.id) for c in side)


def test_the_position_is_the_first_eight_bytes_of_sha256_of_salt_and_id() -> None:
    digest = hashlib.sha256(b"menu\x00c001").digest()
    expected = int.from_bytes(digest[:8], "big") / 2**64
    assert Split("menu").position("c001") == expected
    assert Split("menu", 0.5).side("c001") == ("judge" if expected < 0.5 else "learn")


def test_the_judging_share_is_close_to_the_one_asked_for() -> None:
    for share in (0.2, 0.5, 0.8):
        _, judge = Split(judge_share=share).divide([_Case(f"case-{n}") for n in range(4000)])
        assert abs(len(judge) / 4000 - share) < 0.03  # binomial sd at n=4000 is below 0.008


def test_a_larger_share_only_adds_judging_cases() -> None:
    cases = [_Case(f"c{n}") for n in range(500)]
    _, small = Split(judge_share=0.3).divide(cases)
    _, large = Split(judge_share=0.6).divide(cases)
    assert {c.id for c in small} < {c.id for c in large}


def test_a_share_outside_zero_and_one_is_refused_in_either_language() -> None:
    with pytest.raises(ConfigError, match="between 0 and 1") as english:
        Split(judge_share=1.0)
    assert english.value.where == "--judge-share"
    set_language("ko")
    try:
        with pytest.raises(ConfigError, match="0과 1 사이"):
            Split(judge_share=0.0)
    finally:
        set_language(None)
