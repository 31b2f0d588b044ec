"""Korean output reads as a Korean PM would write it (issue 16 item 14): particles fit the word before them,
no templated 이(가), no literal calques, `--help` in Korean, grader reasons and common errors translated."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
import typer.main
from typer._click import Command

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


def _andon(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if k != "ANDON_LANG"} | {"COLUMNS": "120", **(env or {})}
    return subprocess.run([sys.executable, "-m", "andon", *args], env=full, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(("args", "env"), [(("--lang", "ko", "eval", "--help"), None),
                                           (("eval", "--help"), {"ANDON_LANG": "ko"})])  # fmt: skip
def test_help_is_korean_with_lang_ko(args: tuple[str, ...], env: dict[str, str] | None) -> None:
    shown = _andon(*args, env=env)
    assert shown.returncode == 0, shown.stderr
    assert "데이터셋" in shown.stdout and "옵션" in shown.stdout  # the command's help and Typer's panel title
    assert "Evaluate FEATURE's versions" not in shown.stdout and "Options" not in shown.stdout
    assert "JSON으로 출력합니다" in shown.stdout  # a text many commands share


def test_help_stays_english_by_default() -> None:
    shown = _andon("eval", "--help", env={"ANDON_LANG": "en"})
    assert "Evaluate FEATURE's versions" in shown.stdout and "Options" in shown.stdout


def test_the_english_help_catalogue_mirrors_the_code() -> None:
    """en/polish_help.toml is the code's English (kept for the key check); every help text has Korean."""
    from andon.cli import app
    from andon.cli._help import catalogue_key, help_texts

    english, korean = _catalogue("en"), _catalogue("ko")
    for key, text, holder in help_texts(typer.main.get_command(app)):
        param = None if isinstance(holder, Command) else key.rpartition(".")[2]
        found = catalogue_key(key, text, param)
        assert found is not None, f"{key}: add it to messages/en and messages/ko ({text!r})"
        assert english[found] == text, f"{found}: the catalogue's English differs from the code's"
        assert found in korean
