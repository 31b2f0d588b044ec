"""Korean output reads as a Korean PM would write it (issue 16 item 14): particles fit the word before them,
no templated 이(가), no literal calques, `--help` in Korean, grader reasons and common errors translated."""

from __future__ import annotations

import re

import pytest

from andon.messages import _catalogue, t

# A particle written apart from the value before it ("{b} 가 {a} 보다"), or templated as 이(가).
SPACED = re.compile(r"\} (?:가|은|는|을|를|와|과|의|에|에서|로|으로|보다|만|이라는|라는)(?=[\s.,:)]|$)")
AFTER_LATIN = re.compile(r"[A-Za-z0-9_./`'\"%] (?:가|은|는|을|를|와|과|의|에|에서|로|으로|보다)(?=[\s.,:)]|$)")
TEMPLATED = re.compile(r"\((?:이|가|은|는|을|를|와|과|으)\)")
CALQUES = ("짝지은 케이스", "고쳐짐", "깨짐", "검출 가능한 차이")


@pytest.mark.parametrize(("key", "text"), sorted(_catalogue("ko").items()))
def test_korean_entries_have_no_templated_or_spaced_particles(key: str, text: str) -> None:
    assert not TEMPLATED.search(text), f"{key}: write {{x:이/가}} instead of 이(가): {text}"
    assert not SPACED.search(text), f"{key}: the particle belongs to the value before it: {text}"
    assert not AFTER_LATIN.search(text), f"{key}: Korean writes andon.yaml을, not andon.yaml 을: {text}"
    assert not any(word in text for word in CALQUES), f"{key}: {text}"


def test_a_particle_may_follow_a_number_format() -> None:
    assert t("watch.above", language="ko", value=2.5, limit=2) == "2.5가 2 이상입니다"
    assert t("watch.below", language="ko", value=3.0, limit=4) == "3이 4 이하입니다"


def test_the_verdict_reads_naturally() -> None:
    assert t("report.verdict.better", language="ko", a="v1-plain", b="v2-rules") == "v2-rules가 v1-plain보다 낫습니다"
    assert t("report.verdict.same", language="ko", a="v1", b="v2").startswith("v1과 v2 사이에")
