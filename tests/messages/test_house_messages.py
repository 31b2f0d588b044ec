"""Errors and hints users cause below the faces speak the catalogue's language (issue 7 item 8).

The English stays word for word what it was; Korean comes from the same catalogue key, and a grade keeps the
key of its reason so each report shows it in its own language.
"""

from __future__ import annotations

import ast
import json
import re
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from andon.config.json_values import MissingPath, lookup
from andon.config.loader import load_config
from andon.config.schema import GraderSpec
from andon.errors import AndonError, ConfigError
from andon.evals.dataset import load_dataset
from andon.evals.graders import GraderContext, build_grader, run_grader
from andon.evals.model import Case, Grade
from andon.messages import set_language

SRC = Path(__file__).resolve().parents[2] / "src" / "andon"

# Where user-caused errors now go through t(); a raise there with an English literal is a regression.
CONVERTED = [
    "config", "store", "versions", "providers", "review", "engine", "demo", "evals/dataset.py", "evals/build.py",
    "evals/plan.py", "evals/graders", "evals/report/export.py", "workspace.py", "embeddings.py", "client.py",
    "gateway", "watch", "cli", "deploy",
]  # fmt: skip
# Programming errors (a developer's misuse, an internal invariant) may stay English.
DEVELOPER_ERRORS = {"TypeError", "RuntimeError", "LookupError"}
DEVELOPER_VALUE_ERRORS = {
    "store/deploy.py", "store/incidents.py", "store/models.py", "store/repo.py", "store/reviews.py",
    "providers/pricing.py", "embeddings.py",
    # internal invariants: bad settings are refused by the config schema before these run
    "gateway/auth.py", "gateway/circuit.py", "gateway/http_errors.py", "gateway/openai_compat.py",
    "gateway/redact.py", "gateway/semcache/polarity.py", "gateway/tracing.py", "watch/incidents.py",
    "watch/outbox.py",
}  # fmt: skip


@pytest.fixture
def korean() -> Iterator[None]:
    set_language("ko")
    try:
        yield
    finally:
        set_language(None)


def _prose(value: object) -> bool:
    """A non-empty string that is not a catalogue key such as ``house2.path.no_field``."""
    return isinstance(value, str) and bool(value) and re.fullmatch(r"[a-z0-9_]+(\.[a-z0-9_]+)+", value) is None


def _english_raises(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
            continue
        call = node.exc
        name = ast.unparse(call.func)
        args = call.args[1:] if name == "ApiError" else call.args  # ApiError's first argument is its code
        texts = [*args, *(k.value for k in call.keywords if k.arg in ("hint", "message"))]
        literal = [
            a for a in texts if isinstance(a, ast.JoinedStr) or (isinstance(a, ast.Constant) and _prose(a.value))
        ]
        relative = path.relative_to(SRC).as_posix()
        if not literal or name in DEVELOPER_ERRORS:
            continue
        if name == "ValueError" and relative in DEVELOPER_VALUE_ERRORS:
            continue
        if name == "TemplateError" and ast.unparse(literal[0]) == "f'{exc.message}'":
            continue  # Jinja's own message
        if name == "ProviderError" and relative == "providers/local.py" and "closed" in ast.unparse(literal[0]):
            continue  # a call after close(): the caller's bug
        if name == "ProviderError" and relative == "providers/python.py" and "__name__" in ast.unparse(literal[0]):
            continue  # the user function's own exception, shown as it is
        yield f"{relative}:{node.lineno}: {ast.unparse(call)[:100]}"


def test_no_raise_in_the_converted_modules_carries_english_text() -> None:
    files = [p for part in CONVERTED for p in ((SRC / part).rglob("*.py") if (SRC / part).is_dir() else [SRC / part])]
    found = [hit for path in files if path.name != "okr.py" for hit in _english_raises(path)]
    assert not found, "put these through andon.messages.t():\n" + "\n".join(found)


def _config(tmp_path: Path, criteria: str) -> Path:
    path = tmp_path / "andon.yaml"
    path.write_text(
        textwrap.dedent(
            f"""\
            name: t
            features:
              f:
                criteria: [{criteria!r}]
                versions:
                  v1: {{python: "m:f"}}
            """
        ),
        encoding="utf-8",
    )
    return path


def test_a_config_error_is_korean_under_ko_and_unchanged_in_english(tmp_path: Path) -> None:
    path = _config(tmp_path, "acuracy >= 0.9")
    with pytest.raises(AndonError) as english:
        load_config(path)
    assert "unknown metric 'acuracy' in 'acuracy >= 0.9'; did you mean 'accuracy'? known:" in str(english.value)
    set_language("ko")
    try:
        with pytest.raises(AndonError) as korean:
            load_config(path)
    finally:
        set_language(None)
    shown = str(korean.value)
    assert "알 수 없는 지표 'acuracy'입니다" in shown and "'accuracy'를 말씀하신 건가요?" in shown
    assert "unknown metric" not in shown


def test_a_dataset_error_names_the_file_in_either_language(tmp_path: Path, korean: None) -> None:
    with pytest.raises(ConfigError) as missing:
        load_dataset(Path("nope.jsonl"), tmp_path)
    assert missing.value.message == f"데이터셋 {tmp_path / 'nope.jsonl'}이 없습니다"  # …jsonl reads 제이슨엘
    assert missing.value.hint == "andon.yaml의 `dataset:`을 확인하세요"


@pytest.mark.parametrize(
    ("data", "path", "english", "korean"),
    [
        ({"a": 1}, "b", "no field 'b'", "'b' 필드가 없습니다"),
        ({"a": [1, 2]}, "a.5", "no item 'a.5' (the list has 2)", "'a.5' 항목이 없습니다 (목록의 항목 수: 2)"),
        ({"a": [1]}, "a.x", "no field 'a.x' (a is a list; 'x' is not an index)", "(a는 목록인데 'x'는 번호가"),
        ({"a": "text"}, "a.b", "no field 'a.b' (a is a string)", "(a는 문자열입니다)"),
        ("text", "b", "no field 'b' (the value is a string)", "(값은 문자열입니다)"),
    ],
)
def test_a_missing_path_reads_in_both_languages(data: object, path: str, english: str, korean: str) -> None:
    with pytest.raises(MissingPath) as missing:
        lookup(data, tuple(path.split(".")))
    assert str(missing.value) == english  # the English, as before
    assert korean in missing.value.text("ko")


async def test_a_grade_keeps_the_key_of_a_missing_field_and_shows_it_in_korean() -> None:
    spec = GraderSpec(type="equals", path="decision", value="approve")
    grade = await run_grader(spec, build_grader(spec), GraderContext(case=Case("c1", {}), output_text='{"x": 1}'))
    assert grade.reason == "the output has no field 'decision'"
    stored = Grade.from_json(json.loads(json.dumps(grade.to_json())))
    assert stored.reason_in("en") == "the output has no field 'decision'"
    assert stored.reason_in("ko") == "출력: 'decision' 필드가 없습니다"
