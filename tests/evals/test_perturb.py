"""Perturbations: each deterministic for a seed, each keeping the case's label; hand-checked Korean rules."""

from __future__ import annotations

import asyncio
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from andon.config.robustness import PerturbationSettings, RobustnessConfig
from andon.errors import ConfigError
from andon.evals.model import Case
from andon.evals.perturb import build_perturbation, build_suite, known_types, perturb_cases
from andon.evals.perturb.base import case_rng
from andon.evals.perturb.framing import IRRELEVANT, LEADING
from andon.evals.perturb.hangul import Syllable, compose, decompose, is_syllable
from andon.evals.perturb.noise import jamo_errors, respace, typos
from andon.evals.perturb.register import change_register, to_casual, to_polite

OFFLINE = ("spacing", "typo", "jamo", "register", "suffix", "leading", "options")

hangul = st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3)
korean_text = st.lists(
    st.one_of(st.text(hangul, min_size=1, max_size=6), st.sampled_from([" ", ". ", "요. ", "합니다. ", "010", "!"])),
    min_size=1, max_size=12,
).map("".join)  # fmt: skip


def _case(text: str, **extra: object) -> Case:
    return Case(
        id="c1", vars={"description": text, "menu": "김밥", **extra}, expected={"decision": "reject"},
        label="reject", tags=("hard",), human={"judge": "pass"}, source="cases.yaml:3", labels={"a": "reject"},
    )  # fmt: skip


def _run(name: str, case: Case, seed: int = 0) -> Case | None:
    perturbation = build_perturbation(PerturbationSettings(type=name), where="test")
    made = asyncio.run(perturbation.perturb(case, case_rng(seed, name, case.id), None))
    return made.case if made is not None else None


def test_every_syllable_decomposes_and_composes_back() -> None:
    for code in range(0xAC00, 0xD7A4):
        assert compose(decompose(chr(code))) == chr(code)
    assert decompose("한") == Syllable(18, 0, 4) and decompose("가") == Syllable(0, 0, 0)
    assert not is_syllable("a") and not is_syllable("ㄱ")
    with pytest.raises(ValueError):
        decompose("a")


def test_the_built_in_types_are_registered() -> None:
    assert set(OFFLINE) | {"paraphrase"} <= set(known_types())


@pytest.mark.parametrize("name", OFFLINE)
@given(text=korean_text, seed=st.integers(0, 2**32), options=st.lists(st.sampled_from("abcd"), max_size=4))
def test_a_perturbation_is_deterministic_for_a_seed_and_keeps_the_label(
    name: str, text: str, seed: int, options: list[str]
) -> None:
    case = _case(text, options=options)
    first, again = _run(name, case, seed), _run(name, case, seed)
    assert first == again
    if first is not None:
        assert first.id == f"c1~{name}" and first.vars != case.vars
        assert (first.label, first.expected, first.tags, first.human, first.labels) == (
            case.label, case.expected, case.tags, case.human, case.labels
        )  # fmt: skip
        assert set(first.vars) == set(case.vars)


@given(text=korean_text, seed=st.integers(0, 2**32))
def test_spacing_moves_only_spaces(text: str, seed: int) -> None:
    assert respace(text, random.Random(seed)).replace(" ", "") == text.replace(" ", "")


@given(text=korean_text, seed=st.integers(0, 2**32))
def test_jamo_errors_change_syllables_not_their_number(text: str, seed: int) -> None:
    assert len(jamo_errors(text, random.Random(seed))) == len(text)


def test_jamo_errors_are_the_ones_a_listener_makes() -> None:
    rng = random.Random(0)
    assert jamo_errors("먹어", rng, 1.0) == "머거"  # liaison written out
    assert jamo_errors("의자", rng, 1.0) == "이자"
    assert jamo_errors("개", rng, 1.0) == "게"
    assert jamo_errors("밖", rng, 1.0) == "바"  # a final dropped
    assert jamo_errors("hello", rng, 1.0) == "hello"


def test_typos_never_lose_a_whole_word() -> None:
    for seed in range(50):
        assert len(typos("가 나 다", random.Random(seed), 1.0).split()) == 3


@pytest.mark.parametrize(
    ("polite", "casual"),
    [("합니다", "해"), ("있습니다", "있어"), ("좋습니다", "좋아"), ("먹었습니다", "먹었어"), ("입니다", "이야"),
     ("갑니다", "가"), ("봅니다", "봐"), ("마십니다", "마셔"), ("됩니다", "돼"), ("있어요", "있어"),
     ("좋아요", "좋아"), ("책이에요", "책이야"), ("사과예요", "사과야"), ("좋죠", "좋지"), ("맛있네요", "맛있네")],
)  # fmt: skip
def test_polite_endings_in_casual_speech(polite: str, casual: str) -> None:
    assert to_casual(polite) == casual


@pytest.mark.parametrize(
    ("casual", "polite"),
    [("한다", "합니다"), ("있다", "있습니다"), ("크다", "큽니다"), ("이다", "입니다"), ("먹는다", "먹습니다"),
     ("책이야", "책이에요"), ("사과야", "사과예요"), ("아니야", "아니에요"), ("좋지", "좋죠"), ("해", "해요"),
     ("있어", "있어요"), ("밥", "밥")],
)  # fmt: skip
def test_casual_endings_in_polite_speech(casual: str, polite: str) -> None:
    assert to_polite(casual) == polite


def test_register_changes_each_sentence_end_and_nothing_else() -> None:
    text = "이 메뉴는 정말 맛있어요. 전화번호는 010-1234-5678입니다!"
    assert change_register(text) == "이 메뉴는 정말 맛있어. 전화번호는 010-1234-5678이야!"
    assert change_register("가격이 싸다. 또 올게") == "가격이 쌉니다. 또 올게요"
    assert change_register("하세요.", "casual") == "하세요."  # no single casual form: left alone
    assert change_register("hello.") == "hello."


def test_suffixes_go_after_the_longest_text() -> None:
    case = _case("반찬이 정말 맛있어요")
    irrelevant = _run("suffix", case)
    leading = _run("leading", case)
    assert irrelevant is not None and leading is not None
    assert irrelevant.vars["menu"] == "김밥" and irrelevant.vars["description"].startswith("반찬이 정말 맛있어요")
    assert irrelevant.vars["description"].removeprefix("반찬이 정말 맛있어요") in IRRELEVANT
    assert leading.vars["description"].removeprefix("반찬이 정말 맛있어요") in LEADING
    own = build_perturbation(PerturbationSettings(type="suffix", texts=["라고 생각하지 않나요?"]), where="t")
    made = asyncio.run(own.perturb(case, random.Random(0), None))
    assert made is not None and made.case.vars["description"] == "반찬이 정말 맛있어요라고 생각하지 않나요?"


def test_option_order_changes_the_order_only() -> None:
    case = _case("고르세요", options=["사과", "배", "감"])
    made = _run("options", case)
    assert made is not None and sorted(made.vars["options"]) == sorted(["사과", "배", "감"])
    assert made.vars["options"] != ["사과", "배", "감"]
    assert _run("options", _case("고르세요", options=["같음", "같음"])) is None


def test_file_variables_are_not_text() -> None:
    case = Case(id="p", vars={"photo": "/work/x/photo.jpg"})
    assert _run("typo", case) is None


def test_settings_a_type_does_not_read_are_refused_where_they_are() -> None:
    with pytest.raises(ConfigError) as caught:
        build_perturbation(PerturbationSettings(type="spacing", texts=["x"]), where="robustness.perturbations[0]")
    assert caught.value.where == "robustness.perturbations[0].texts"
    with pytest.raises(ConfigError, match="spacing"):
        build_perturbation(PerturbationSettings(type="spacin"), where="--robustness spacin")
    with pytest.raises(ConfigError) as caught:
        build_perturbation(PerturbationSettings(type="paraphrase"), where="p")
    assert caught.value.where == "p.provider"


def test_a_suite_uses_the_settings_of_andon_yaml_and_refuses_a_type_twice() -> None:
    config = RobustnessConfig.model_validate({"perturbations": ["spacing", {"type": "typo", "rate": 0.5}], "seed": 3})
    assert [p.name for p in build_suite(config)] == ["spacing", "typo"]
    chosen = build_suite(config, ["typo", "jamo"])
    assert [p.name for p in chosen] == ["typo", "jamo"] and chosen[0].settings.rate == 0.5
    with pytest.raises(ConfigError, match="twice"):
        build_suite(None, ["typo", "typo"])
    assert build_suite(None) == []


def test_a_paraphrase_keeps_the_output_that_wrote_it() -> None:
    calls: list[tuple[str, str | None, str, str]] = []

    async def paraphrase(provider: str, model: str | None, text: str, case_id: str) -> tuple[str, str]:
        calls.append((provider, model, text, case_id))
        return "다른 말로 쓴 " + text, "out_123"

    suite = build_suite(RobustnessConfig.model_validate({"perturbations": [{"type": "paraphrase", "provider": "p"}]}))
    made = asyncio.run(perturb_cases([_case("반찬이 맛있어요")], suite, 0, paraphrase))
    assert [(m.original_id, m.perturbation, m.output_id) for m in made] == [("c1", "paraphrase", "out_123")]
    assert made[0].case.vars["description"] == "다른 말로 쓴 반찬이 맛있어요"
    assert calls == [("p", None, "반찬이 맛있어요", "c1")]
    assert asyncio.run(perturb_cases([_case("x")], suite, 0, None)) == []  # no model: nothing to pair
