"""Typed settings per grader and provider type: chosen by ``type``, typos are file:line errors, plugins alike."""

from __future__ import annotations

import itertools
import textwrap
from pathlib import Path
from typing import Any

import pytest

from andon.config.graders import ContainsSettings, GraderSpec, RegexSettings
from andon.config.loader import load_config
from andon.config.problems import InvalidConfig, Problem
from andon.config.schema import FeatureConfig, ProviderConfig, WorkspaceConfig
from andon.errors import ConfigError
from andon.evals.graders import build_grader
from andon.providers.local import LocalProvider

_modules = itertools.count()


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "andon.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def pos(path: Path, needle: str) -> str:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return f"{path}:{number}:{line.index(needle) + 1}"
    raise AssertionError(needle)


def problems(path: Path) -> list[Problem]:
    with pytest.raises(InvalidConfig) as info:
        load_config(path, environ={})
    return info.value.problems


def one(path: Path) -> Problem:
    found = problems(path)
    assert len(found) == 1, [p.line() for p in found]
    return found[0]


def graders(*lines: str) -> str:
    body = "\n".join(f"      - {line}" for line in lines)
    return f"features:\n  f:\n    graders:\n{body}\n"


# --- built-in graders ---------------------------------------------------------------------------------------


def test_a_typo_in_a_graders_option_is_a_file_line_error(tmp_path: Path) -> None:
    path = write(tmp_path, graders("type: regex\n        value: x\n        options: {ignor_case: true}"))
    problem = one(path)
    assert problem.where == pos(path, "ignor_case") and problem.field == "features.f.graders[0].options.ignor_case"
    assert problem.hint == "did you mean 'ignore_case'?"


def test_a_field_of_another_type_is_refused_listing_the_types_own_fields(tmp_path: Path) -> None:
    path = write(tmp_path, graders("{type: equals, value: x, tolerance: 1}"))
    problem = one(path)
    assert problem.field == "features.f.graders[0].tolerance" and problem.where == pos(path, "tolerance")
    assert problem.hint == "allowed here: min_kappa, name, path, type, value, weight"


def test_a_wrong_value_type_names_its_field(tmp_path: Path) -> None:
    path = write(tmp_path, graders("{type: numeric, tolerance: lots}", "{type: label, options: {labels: approve}}"))
    assert [p.field for p in problems(path)] == [
        "features.f.graders[0].tolerance",
        "features.f.graders[1].options.labels",
    ]


def test_negated_types_take_the_same_settings(tmp_path: Path) -> None:
    path = write(tmp_path, graders("{type: not-contains, value: 010, options: {ignore_case: true}}"))
    [spec] = load_config(path, environ={}).config.features["f"].graders
    assert isinstance(spec, ContainsSettings) and spec.negated and spec.options.ignore_case
    typo = write(tmp_path, graders("{type: not-contains, value: 010, options: {ignorecase: true}}"))
    assert one(typo).hint == "did you mean 'ignore_case'?"


def test_today_s_flat_fields_keep_working_for_their_types(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        graders(
            "{type: json-field, path: decision, value: approve, weight: 2}",
            "{type: numeric, path: price, tolerance: 100}",
            "{type: similar, threshold: 0.4}",
            "{type: label, path: decision, options: {labels: [approve, reject]}}",
            "{type: llm-rubric, judge: j, model: m, rubric: polite?, threshold: 0.8, min_kappa: 0.5}",
            "{type: python, function: 'rules:check', threshold: 0.5}",
        ),
    )
    specs = load_config(path, environ={}).config.features["f"].graders
    assert [s.label for s in specs] == [
        "json-field:decision",
        "numeric:price",
        "similar",
        "label:decision",
        "llm-rubric",
        "python",
    ]
    assert [getattr(s, "tolerance", None) for s in specs][1] == 100
    assert [getattr(s, "threshold", None) for s in specs][2:] == [0.4, None, 0.8, 0.5]


def test_the_old_messages_for_missing_settings_are_kept(tmp_path: Path) -> None:
    path = write(tmp_path, graders("{type: regex}", "{type: llm-rubric, judge: j}", "{type: contains-any, value: x}"))
    assert [p.message for p in problems(path)] == [
        "a regex grader needs `value:` with the pattern",
        "an llm-rubric grader needs `judge:` (provider or FEATURE:VERSION) and `rubric:`",
        "contains-any takes a list in `value:`",
    ]


def test_an_unknown_grader_type_fails_at_load_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, graders("{type: not-containz, value: x}"))
    problem = one(path)
    assert problem.where == pos(path, "type: not-containz") and problem.field == "features.f.graders[0].type"
    assert problem.hint == "did you mean 'not-contains'?"


def test_a_grader_written_in_python_is_checked_against_its_types_settings() -> None:
    config = FeatureConfig(graders=[GraderSpec(type="regex", value="^a", options={"ignore_case": True})])
    assert isinstance(config.graders[0], RegexSettings)
    with pytest.raises(ConfigError) as info:
        build_grader(GraderSpec(type="regex", value="a", options={"ignor_case": True}), where="g")
    assert info.value.where == "g.options.ignor_case"


def test_the_schema_shows_each_graders_own_fields() -> None:
    schema = WorkspaceConfig.model_json_schema()
    defs = schema["$defs"]
    items = defs["FeatureConfig"]["properties"]["graders"]["items"]["oneOf"]
    assert len(items) == 24  # the 23 built-ins (7 of them trajectory graders) and a plugin's entry
    regex = defs["RegexSettings"]["properties"]
    assert set(regex) == {"type", "name", "weight", "min_kappa", "path", "value", "options"}
    assert regex["type"]["enum"] == ["regex", "not-regex"]
    assert {"judge", "rubric", "model", "threshold"} <= set(defs["LlmRubricSettings"]["properties"])
    assert "tolerance" not in defs["EqualsSettings"]["properties"]


# --- plugin graders -----------------------------------------------------------------------------------------


def install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, group: str, entry: str, source: str) -> None:
    """A real installed distribution (dist-info on sys.path) registering ``entry`` under ``group``."""
    name = f"andon_test_typed_{next(_modules)}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    dist = tmp_path / f"{name}-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n", encoding="utf-8")
    (dist / "entry_points.txt").write_text(f"[{group}]\n{entry.format(module=name)}\n", encoding="utf-8")


LOUD = """
    from typing import Literal

    from andon.config.graders import GraderSettings
    from andon.evals.model import Grade

    class Settings(GraderSettings):
        level: int = 1
        mode: Literal["upper", "exclaim"] = "upper"

    class Loud:
        Settings = Settings

        def __init__(self, settings, *, where):
            self.settings, self.where = settings, where

        async def grade(self, ctx):
            loud = (ctx.output_text or "").isupper()
            return Grade(self.settings.label, 1.0 if loud else 0.0, loud)
"""


def test_a_plugins_settings_are_checked_at_load_and_given_to_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(tmp_path, monkeypatch, "andon.graders", "loud = {module}:Loud", LOUD)
    path = write(tmp_path, graders("{type: not-loud, level: 3}"))
    [spec] = load_config(path, environ={}).config.features["f"].graders
    assert type(spec).__name__ == "Settings" and getattr(spec, "level", None) == 3 and spec.negated
    grader: Any = build_grader(spec, where="features.f.graders[0]")
    assert grader.inner.settings is spec and grader.inner.where == "features.f.graders[0]"


def test_a_typo_in_a_plugins_settings_is_a_file_line_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install(tmp_path, monkeypatch, "andon.graders", "loud = {module}:Loud", LOUD)
    path = write(tmp_path, graders("type: loud\n        levle: 3", "type: loud\n        mode: whisper"))
    typo, wrong = problems(path)
    assert typo.where == pos(path, "levle") and typo.field == "features.f.graders[0].levle"
    assert typo.hint == "did you mean 'level'?"
    assert wrong.where == pos(path, "mode: whisper") and wrong.field == "features.f.graders[1].mode"


# --- providers ----------------------------------------------------------------------------------------------


def test_a_typo_in_a_providers_options_is_a_file_line_error(tmp_path: Path) -> None:
    path = write(tmp_path, "providers:\n  l:\n    type: local\n    options:\n      n_thread: 2\n")
    problem = one(path)
    assert problem.where == pos(path, "n_thread") and problem.field == "providers.l.options.n_thread"
    assert problem.hint == "did you mean 'n_threads'?"


def test_each_provider_types_options_are_typed(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        providers:
          a: {type: anthropic, options: {max_tokens: 0}}
          o: {type: openai, options: {headers: [x-route]}}
          l: {type: local, options: {n_threads: "2"}}
          p: {type: python, options: {fn: 'rules:check'}}
        """,
    )
    assert [p.field for p in problems(path)] == [
        "providers.a.options.max_tokens",
        "providers.o.options.headers",
        "providers.l.options.n_threads",
        "providers.p.options.fn",
    ]


def test_a_provider_built_in_python_is_checked_by_the_provider() -> None:
    with pytest.raises(ConfigError) as info:
        LocalProvider("local", ProviderConfig(type="local", options={"n_thread": 2}))
    assert info.value.where == "providers.local.options.n_thread" and "n_threads" in (info.value.hint or "")


def test_the_schema_shows_each_providers_own_options() -> None:
    defs = WorkspaceConfig.model_json_schema()["$defs"]
    assert set(defs["LocalOptions"]["properties"]) == {"n_ctx", "n_threads", "n_batch", "model_path", "sha256"}
    assert defs["LocalOptions"]["additionalProperties"] is False
    assert {"headers", "extra_body", "max_tokens_field", "strict_schema"} <= set(defs["OpenAIOptions"]["properties"])


ECHO = """
    from pydantic import ConfigDict, with_config
    from typing_extensions import TypedDict

    @with_config(ConfigDict(extra="forbid"))
    class Options(TypedDict, total=False):
        prefix: str

    class Echo:
        Options = Options

        def __init__(self, name, config):
            self.name = name
"""


def test_a_plugin_providers_options_are_checked_at_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    install(tmp_path, monkeypatch, "andon.providers", "echo = {module}:Echo", ECHO)
    good = write(tmp_path, "providers:\n  e: {type: echo, options: {prefix: '> '}}\n")
    assert load_config(good, environ={}).config.providers["e"].options == {"prefix": "> "}
    bad = write(tmp_path, "providers:\n  e:\n    type: echo\n    options:\n      prefx: '> '\n")
    problem = one(bad)
    assert problem.where == pos(bad, "prefx") and problem.hint == "did you mean 'prefix'?"
    unknown = write(tmp_path, "providers:\n  e: {type: ehco}\n")
    assert one(unknown).field == "providers.e.type" and "echo" in one(unknown).message
