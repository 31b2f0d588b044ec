"""Korean output reads as a Korean PM would write it (issue 16 item 14): particles fit the word before them,
no templated 이(가), no literal calques, `--help` in Korean, grader reasons and common errors translated."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from typing import Any

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


# Grader reasons (issue 16 item 14): stored with their catalogue key, shown in the report's language.


def _ctx(text: str, case: Any) -> Any:
    from andon.evals.graders.base import GraderContext

    return GraderContext(case=case, output_text=text)


@pytest.mark.parametrize(
    ("spec", "output", "english", "korean"),
    [
        ({"type": "contains", "value": "환불"}, "배송이 늦었어요", "'환불' not found in the output",
         "출력에 '환불'이 없습니다"),
        ({"type": "not-contains", "value": "010"}, "전화 010-1234", "not: '010' found in the output", "반대 조건"),
        ({"type": "label"}, "approve", "predicted 'approve', expected 'reject'", "예측 'approve', 기대 'reject'"),
        ({"type": "equals", "value": "42"}, "41", "'41' is not '42'", "'41'과 '42'는 다릅니다"),
        ({"type": "is-json"}, "not json", "the output is not valid JSON", "올바른 JSON이 아닙니다"),
        ({"type": "regex", "value": "^ok"}, "no", "no match for /^ok/", "/^ok/에 맞는 부분이 없습니다"),
        ({"type": "numeric", "value": 10, "tolerance": 1}, "12", "12 vs 10: difference 2 > tolerance 1", "허용 오차"),
    ],
)  # fmt: skip
async def test_grader_reasons_render_in_the_report_language(
    spec: dict[str, Any], output: str, english: str, korean: str
) -> None:
    from andon.config.schema import GraderSpec
    from andon.evals.graders import build_grader
    from andon.evals.graders.scoring import run_grader
    from andon.evals.model import Case, Grade

    gs = GraderSpec(**spec)
    grade = await run_grader(gs, build_grader(gs), _ctx(output, Case("c1", {}, label="reject")))
    assert grade.reason == english  # the stored English, as before
    stored = Grade.from_json(json.loads(json.dumps(grade.to_json())))  # as a run keeps it
    assert stored.reason_in("en") == english
    assert korean in stored.reason_in("ko") and not re.search(r"[a-z]{4,} [a-z]{4,}", stored.reason_in("ko"))


def test_an_old_run_keeps_its_english_reason() -> None:
    from andon.evals.model import Grade

    old = {"grader": "label", "score": 0.0, "passed": False, "weight": 1.0, "reason": "predicted a, expected b",
           "predicted": "a", "expected": "b", "judge_output_id": None, "error": False}  # fmt: skip
    assert Grade.from_json(old).reason_in("ko") == "predicted a, expected b"


async def test_the_korean_html_report_shows_grader_reasons_in_korean() -> None:
    import dataclasses

    from tests.support.report_fixtures import build_report

    from andon.config.schema import GraderSpec
    from andon.evals.graders import build_grader
    from andon.evals.graders.scoring import run_grader
    from andon.evals.model import Case
    from andon.evals.report.html import render_html

    report = build_report()
    gs = GraderSpec(type="contains", value="환불")
    grade = await run_grader(gs, build_grader(gs), _ctx("배송이 늦었어요", Case("c1", {})))
    cell = next(c for c in report.cells if c.status == "ok")
    cells = [dataclasses.replace(c, grades=[grade]) if c is cell else c for c in report.cells]
    page = render_html(dataclasses.replace(report, cells=cells), language="ko")
    assert "출력에 &#x27;환불&#x27;이 없습니다" in page or "출력에 '환불'이 없습니다" in page
    assert "not found in the output" not in page


# The errors a Korean CLI user meets most: promotion refused, unknown names and ids.

RULES = """
def strict(variables):
    return {"decision": "reject" if "010" in variables["text"] else "approve"}
"""


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("ko_errors")
    (folder / "ko_rules.py").write_text(RULES, encoding="utf-8")
    (folder / "cases.jsonl").write_text(
        '{"id": "a", "vars": {"text": "010-1"}, "label": "approve"}\n'
        '{"id": "b", "vars": {"text": "hi"}, "label": "approve"}\n',
        encoding="utf-8",
    )
    (folder / "andon.yaml").write_text(
        "name: ko\nfeatures:\n  shop:\n    dataset: cases.jsonl\n    graders: [{type: label, path: decision}]\n"
        '    criteria: ["accuracy >= 0.9"]\n    versions:\n      v1: {python: "ko_rules:strict"}\n',
        encoding="utf-8",
    )
    assert _andon("--workspace", str(folder), "eval", "shop").returncode == 0
    return folder


@pytest.mark.parametrize(
    ("args", "korean", "english"),
    [
        (("promote", "shop", "v1"), "승격을 거부합니다", "refusing to promote"),
        (("rollback", "shop"), "롤백할 수 없습니다", "cannot roll back"),
        (("live", "nope"), "기능이 없습니다", "no feature"),
        (("report", "run_nope"), "실행이 없습니다", "no run"),
        (("traces", "show", "trc_nope"), "트레이스가 없습니다", "no trace"),
        (("review", "show", "rev_nope"), "검토 항목이 없습니다", "no review item"),
        (("cite", "out_nope"), "출력이 없습니다", "no output"),
        (("keys", "revoke", "key_nope"), "API 키가 없습니다", "no API key"),
    ],
)
def test_common_errors_are_korean(evaluated: Any, args: tuple[str, ...], korean: str, english: str) -> None:
    ko = _andon("--workspace", str(evaluated), "--lang", "ko", *args)
    assert ko.returncode != 0 and korean in ko.stderr and english not in ko.stderr, ko.stderr
    assert "힌트" in ko.stderr or "오류" in ko.stderr
    en = _andon("--workspace", str(evaluated), "--lang", "en", *args)
    assert english in en.stderr, en.stderr  # the English is unchanged
