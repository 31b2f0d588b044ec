"""`andon check`: every static problem a run would hit, all at once, each at file:line:col with a fix."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from andon.config.problems import Problem
from andon.evals.check import check_workspace
from andon.starter import write_starter

CASES = [
    {"id": "c1", "vars": {"review": "맛있어요", "menu": "김밥"}, "label": "ok"},
    {"id": "c2", "vars": {"review": "별로", "menu": "라면"}, "label": "bad"},
]


def workspace(tmp_path: Path, yaml_text: str, cases: list[dict[str, object]] | None = None) -> Path:
    """A folder with andon.yaml and data/cases.jsonl; returns the andon.yaml path."""
    (tmp_path / "data").mkdir(exist_ok=True)
    rows = CASES if cases is None else cases
    (tmp_path / "data" / "cases.jsonl").write_text(
        "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8"
    )
    path = tmp_path / "andon.yaml"
    path.write_text(textwrap.dedent(yaml_text), encoding="utf-8")
    return path


BASE = """\
providers:
  local: {type: local, model: qwen2.5-coder-0.5b}
features:
  reviews:
    dataset: data/cases.jsonl
    graders:
{graders}
    versions:
      v1:
        provider: local
        prompt: |
{prompt}
"""


def feature(graders: str = "      - {type: label}", prompt: str = "          Review: {{ review }}") -> str:
    return BASE.replace("{graders}", graders).replace("{prompt}", prompt)


def pos(path: Path, needle: str, nth: int = 1) -> str:
    """``file:line:col`` of the ``nth`` occurrence of ``needle`` in the file."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found = [(n, line.index(needle)) for n, line in enumerate(lines, start=1) if needle in line]
    line, col = found[nth - 1]
    return f"{path}:{line}:{col + 1}"


def only(problems: list[Problem]) -> Problem:
    assert len(problems) == 1, [p.line() for p in problems]
    return problems[0]


def test_a_clean_workspace_has_no_problems_and_lists_version_ids(tmp_path: Path) -> None:
    report = check_workspace(workspace(tmp_path, feature()))
    assert report.problems == [] and report.valid
    assert len(report.versions["reviews"]["v1"]) == 12


def test_unknown_grader_type_points_at_the_type_and_suggests(tmp_path: Path) -> None:
    path = workspace(tmp_path, feature(graders="      - {type: containz, value: 맛}"))
    problem = only(check_workspace(path).problems)
    assert problem.where == pos(path, "type: containz") and problem.field == "features.reviews.graders[0].type"
    assert "containz" in problem.message and problem.hint == "did you mean 'contains'?"


def test_negated_unknown_grader_type_suggests_the_negated_name(tmp_path: Path) -> None:
    path = workspace(tmp_path, feature(graders="      - {type: not-regx, value: x}"))
    assert only(check_workspace(path).problems).hint == "did you mean 'not-regex'?"


def test_grader_settings_the_grader_rejects_are_reported(tmp_path: Path) -> None:
    path = workspace(tmp_path, feature(graders="      - {type: regex, value: '(unclosed'}"))
    problem = only(check_workspace(path).problems)
    assert problem.where == pos(path, "{type: regex") and "invalid regular expression" in problem.message


def test_unknown_judge_provider_and_feature_version(tmp_path: Path) -> None:
    graders = (
        "      - {type: llm-rubric, judge: locl, rubric: 친절한가}\n"
        "      - {type: llm-rubric, judge: 'reviews:v9', rubric: 친절한가}\n"
        "      - {type: llm-rubric, judge: 'review:v1', rubric: 친절한가}\n"
        "      - {type: llm-rubric, judge: 'reviews:v1', rubric: 친절한가}"
    )
    path = workspace(tmp_path, feature(graders=graders))
    problems = check_workspace(path).problems
    assert [p.field for p in problems] == [f"features.reviews.graders[{i}].judge" for i in range(3)]
    assert [p.where for p in problems] == [pos(path, "judge:", nth) for nth in (1, 2, 3)]
    assert problems[0].hint == "did you mean 'local'?"
    assert "v9" in problems[1].message and "v1" in str(problems[1].hint)
    assert "review" in problems[2].message and problems[2].hint == "did you mean 'reviews:v1'?"


def test_missing_dataset_file_points_at_the_field_and_suggests_a_close_file(tmp_path: Path) -> None:
    path = workspace(tmp_path, feature().replace("data/cases.jsonl", "data/case.jsonl"))
    problem = only(check_workspace(path).problems)
    assert problem.where == pos(path, "dataset:") and problem.field == "features.reviews.dataset"
    assert "data/case.jsonl" in problem.message and problem.hint == "did you mean 'data/cases.jsonl'?"


def test_duplicate_case_ids_are_reported_at_the_dataset_line(tmp_path: Path) -> None:
    cases = [*CASES, {"id": "c1", "vars": {"review": "또", "menu": "떡"}}]
    path = workspace(tmp_path, feature(), cases)
    problem = only(check_workspace(path).problems)
    assert problem.where == f"{tmp_path / 'data' / 'cases.jsonl'}:3" and "used twice" in problem.message


def test_undefined_template_variable_is_checked_against_the_dataset(tmp_path: Path) -> None:
    path = workspace(tmp_path, feature(prompt="          Menu: {{ menu }}\n          Review: {{ reveiw }}"))
    problem = only(check_workspace(path).problems)
    # A `|` block keeps its lines, so the variable is found on its own line and column of andon.yaml.
    assert problem.where == pos(path, "reveiw") and problem.field == "features.reviews.versions.v1.prompt"
    assert "reveiw" in problem.message and problem.hint == "did you mean 'review'?"


def test_a_variable_some_cases_lack_is_named_with_the_first_such_case(tmp_path: Path) -> None:
    cases = [*CASES, {"id": "c3", "vars": {"menu": "떡"}}]
    path = workspace(tmp_path, feature(), cases)
    problem = only(check_workspace(path).problems)
    assert "1 of 3" in problem.message and "c3" in problem.message and "cases.jsonl:3" in problem.message
    assert "default" in str(problem.hint)


def test_guarded_and_local_template_names_are_not_required(tmp_path: Path) -> None:
    prompt = (
        "          {% if extra is defined %}{{ extra }}{% endif %}{{ note | default('') }}\n"
        "          {% for word in review.split() %}{{ word }}{% endfor %}{% set n = 1 %}{{ n }}\n"
        "          {{ steps }}"
    )
    assert check_workspace(workspace(tmp_path, feature(prompt=prompt))).problems == []


def test_rubric_and_grader_values_see_the_grader_scope(tmp_path: Path) -> None:
    graders = (
        "      - {type: llm-rubric, judge: local, rubric: '{{ menu }}: {{ expected }} {{ label }} {{ case_id }}'}\n"
        "      - {type: equals, value: '{{ lable }}'}"
    )
    problem = only(check_workspace(workspace(tmp_path, feature(graders=graders))).problems)
    assert problem.field == "features.reviews.graders[1].value" and problem.hint == "did you mean 'label'?"


@pytest.mark.parametrize(
    ("template", "line", "needle"),
    [
        ("          first line\n          Review: {{ review ", 13, "template line 2"),
        ("          {% for %}\n          x", 12, "template line 1"),
        ("          {% if review %}no end", 12, "template line 1"),
    ],
)
def test_jinja_syntax_errors_point_at_the_template_line_in_andon_yaml(
    tmp_path: Path, template: str, line: int, needle: str
) -> None:
    path = workspace(tmp_path, feature(prompt=template))
    problem = only(check_workspace(path).problems)
    assert problem.where.startswith(f"{path}:{line}:") and needle in problem.message
    assert "syntax" in problem.message


def test_syntax_error_in_a_one_line_template_points_at_the_value(tmp_path: Path) -> None:
    text = feature().replace("prompt: |\n          Review: {{ review }}", 'prompt: "Review: {{ review "')
    path = workspace(tmp_path, text)
    problem = only(check_workspace(path).problems)
    assert problem.where == pos(path, '"Review:') and "syntax" in problem.message


def test_steps_templates_and_images_are_checked(tmp_path: Path) -> None:
    text = """\
        providers:
          local: {type: local, model: m}
        features:
          reviews:
            dataset: data/cases.jsonl
            versions:
              v1:
                steps:
                  - {name: rules, python: 'rules:check'}
                  - name: model
                    provider: local
                    system: "{{ steps.rules.json }} {{ menuu }}"
                    prompt: "{{ review }}"
                    images: [photo]
    """
    path = workspace(tmp_path, text)
    problems = check_workspace(path).problems
    assert [p.field for p in problems] == [
        "features.reviews.versions.v1.steps[1].system",
        "features.reviews.versions.v1.steps[1].images[0]",
    ]
    assert problems[0].hint == "did you mean 'menu'?" and "photo" in problems[1].message


def test_serve_live_fallback_and_cache_judge_name_real_things(tmp_path: Path) -> None:
    text = feature() + (
        "    serve:\n      live: v2\n      routing: {fallback: v3}\n      cache: {enabled: true, judge: nobody}\n"
    )
    problems = check_workspace(workspace(tmp_path, text)).problems
    assert [p.field for p in problems] == [
        "features.reviews.serve.live",
        "features.reviews.serve.routing.fallback",
        "features.reviews.serve.cache.judge",
    ]


def test_logprob_routing_names_the_versions_whose_steps_record_no_logprobs(tmp_path: Path) -> None:
    routing = "    serve:\n      routing: {confidence_path: c, confidence_source: logprob, min_confidence: 0.8}\n"
    second = (
        "      v2:\n        provider: local\n        params: {logprobs: true}\n        prompt: 'Review: {{ review }}'\n"
    )
    path = workspace(tmp_path, feature() + second + routing)
    problem = only(check_workspace(path).problems)
    assert problem.field == "features.reviews.serve.routing.confidence_source"
    assert problem.where == pos(path, "confidence_source")
    assert "v1" in problem.message and "v2" not in problem.message and "logprobs: true" in (problem.hint or "")
    fixed = feature().replace("provider: local\n", "provider: local\n        params: {logprobs: true}\n", 1)
    assert check_workspace(workspace(tmp_path, fixed + second + routing)).problems == []


def test_a_problem_several_checks_find_is_reported_once_at_its_own_line(tmp_path: Path) -> None:
    path = workspace(tmp_path, feature().replace("provider: local", "provider: locl"))
    problem = only(check_workspace(path).problems)
    assert problem.where == pos(path, "provider: locl") and "did you mean 'local'?" in (problem.hint or "")


def test_every_problem_is_reported_not_only_the_first(tmp_path: Path) -> None:
    text = """\
        providers:
          local: {type: local, model: m}
        features:
          reviews:
            dataset: data/cases.jsonl
            graders:
              - {type: containz}
              - {type: llm-rubric, judge: nobody, rubric: ok}
            versions:
              v1:
                provider: local
                prompt: "{{ reveiw }}"
              v2:
                provider: local
                prompt: "{% for %}"
          other:
            dataset: data/missing.jsonl
            versions:
              v1: {provider: local, prompt: hi, params: {temprature: 0}}
          third:
            dataset: data/nope.jsonl
            versions:
              v1: {provider: local, prompt: hi}
    """
    path = workspace(tmp_path, text)
    report = check_workspace(path)
    fields = [p.field for p in report.problems]
    assert fields == [
        "features.reviews.graders[0].type",
        "features.reviews.graders[1].judge",
        "features.reviews.versions.v1.prompt",
        "features.reviews.versions.v2.prompt",
        "features.other.versions.v1.params.temprature",
        "features.third.dataset",
    ]
    assert not report.valid and all(p.where.startswith(f"{path}:") for p in report.problems)


def test_missing_environment_variables_are_all_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANDON_T_A", raising=False)
    monkeypatch.delenv("ANDON_T_B", raising=False)
    text = "providers:\n  a: {type: openai, api_key: '${ANDON_T_A}'}\n  b: {type: openai, api_key: '${ANDON_T_B}'}\n"
    path = workspace(tmp_path, text)
    assert [p.where for p in check_workspace(path).problems] == [pos(path, "api_key", n) for n in (1, 2)]


def test_the_starter_workspace_checks_clean(tmp_path: Path) -> None:
    write_starter(tmp_path, "shop")
    report = check_workspace(tmp_path / "andon.yaml")
    assert report.problems == [] and set(report.versions) >= {"listing-title"}


def andon(*args: str, cwd: Path, lang: str = "en") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANDON_LANG": lang}
    env.pop("ANDON_WORKSPACE", None)
    return subprocess.run(
        [sys.executable, "-m", "andon", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_cli_lists_every_problem_exits_2_and_never_a_traceback(tmp_path: Path) -> None:
    path = workspace(tmp_path, feature(graders="      - {type: containz}", prompt="          {{ reveiw }}"))
    result = andon("check", cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert pos(path, "type: containz") in result.stderr and pos(path, "reveiw") in result.stderr
    assert "did you mean 'contains'?" in result.stderr and "did you mean 'review'?" in result.stderr
    assert "2 problems" in result.stderr and "Traceback" not in result.stderr + result.stdout
    as_json = andon("check", "--json", cwd=tmp_path)
    assert as_json.returncode == 2
    payload = json.loads(as_json.stdout)
    assert payload["valid"] is False and [p["field"] for p in payload["problems"]] == [
        "features.reviews.graders[0].type",
        "features.reviews.versions.v1.prompt",
    ]


def test_cli_in_korean(tmp_path: Path) -> None:
    workspace(tmp_path, feature(graders="      - {type: containz}"))
    result = andon("check", cwd=tmp_path, lang="ko")
    assert result.returncode == 2 and "알 수 없는 채점기" in result.stderr and "문제 1개" in result.stderr


def test_cli_reports_a_yaml_bomb_as_one_problem(tmp_path: Path) -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    lines += [f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]" for p, n in zip("abcdefgh", "bcdefghi", strict=True)]
    (tmp_path / "andon.yaml").write_text("\n".join(lines) + "\n")
    result = andon("check", "--json", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    (problem,) = json.loads(result.stdout)["problems"]
    assert "alias bomb" in problem["message"] and problem["where"].startswith(f"{tmp_path / 'andon.yaml'}:")


def test_version_ids_match_the_workspace_from_any_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from andon.workspace import Workspace

    monkeypatch.setattr(sys, "path", list(sys.path))  # both add the workspace folder; undo it afterwards
    shop = tmp_path / "shop"
    write_starter(shop, "shop")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    ids = check_workspace(shop / "andon.yaml").versions["listing-check"]
    with Workspace.open(shop) as ws:
        assert ids == {name: ws.version("listing-check", name).short_id for name in ("v1", "v2")}


LINE_TEXT = st.text(alphabet="abc xyz 가나다 123.,", max_size=12)


@settings(max_examples=40, deadline=None)
@given(
    before=st.lists(LINE_TEXT, max_size=4),
    head=LINE_TEXT,
    tail=LINE_TEXT,
    extra_indent=st.integers(0, 3),
)
def test_an_unknown_variable_is_located_on_its_own_line_and_column(
    before: list[str], head: str, tail: str, extra_indent: int
) -> None:
    import tempfile

    lines = ["Start.", *before, " " * extra_indent + head + "{{ mystery }}" + tail]
    prompt = "\n".join("          " + line if line else "" for line in lines)
    with tempfile.TemporaryDirectory() as folder:
        path = workspace(Path(folder), feature(prompt=prompt))
        problem = only(check_workspace(path).problems)
        assert problem.where == pos(path, "mystery")


def test_an_mcp_server_whose_program_is_missing_is_named_at_its_command(tmp_path: Path) -> None:
    def with_server(command: str) -> str:
        step = (
            "        steps:\n          - provider: local\n            prompt: 'Review: {{ review }}'\n"
            f"            tools:\n              - mcp: {{command: [{command}, serve]}}\n"
        )
        return BASE.replace("{graders}", "      - {type: label}").split("      v1:\n")[0] + "      v1:\n" + step

    path = workspace(tmp_path, with_server("andon-no-such-mcp-server"))
    problem = only(check_workspace(path).problems)
    assert problem.field == "features.reviews.versions.v1.steps[0].tools[0].mcp.command[0]"
    assert problem.where == pos(path, "andon-no-such-mcp-server")
    assert "andon-no-such-mcp-server" in problem.message and "cwd" in (problem.hint or "")
    # A program on PATH, and a script given by a path from the workspace, are fine.
    assert check_workspace(workspace(tmp_path, with_server("sh"))).problems == []
    script = tmp_path / "bin" / "server.sh"
    script.parent.mkdir()
    script.write_text("#!/bin/sh\n", encoding="utf-8")
    script.chmod(0o755)
    assert check_workspace(workspace(tmp_path, with_server("./bin/server.sh"))).problems == []
