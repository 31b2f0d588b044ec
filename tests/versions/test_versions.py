"""Versions: content-addressed ids, sandboxed rendering into messages, diffs."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from andon.config.schema import ProviderConfig, Step, VersionSpec, WorkspaceConfig
from andon.errors import ConfigError, TemplateError
from andon.providers.base import ImagePart, TextPart
from andon.versions.canonical import build_version, canonical_json, content_id, version_from_content
from andon.versions.diff import diff_versions
from andon.versions.render import render_messages

PNG_1x1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c63000100000500010d0a2db40000000049454e44ae426082"
)


def workspace(**providers: ProviderConfig) -> WorkspaceConfig:
    return WorkspaceConfig(providers=providers or {"local": ProviderConfig(type="local", model="qwen2.5-coder-0.5b")})


def spec(**fields: object) -> VersionSpec:
    return VersionSpec.model_validate({"prompt": "Review: {{ description }}", **fields})


def test_same_content_same_id_and_different_content_different_id() -> None:
    ws = workspace()
    a = build_version("f", "v1", spec(system="Be brief."), ws)
    b = build_version("f", "renamed", spec(system="Be brief."), ws)
    c = build_version("f", "v1", spec(system="Be very brief."), ws)
    assert a.id == b.id  # the name is not content
    assert a.id != c.id
    assert len(a.id) == 64 and a.short_id == a.id[:12]


def test_description_is_not_content_but_parameters_are() -> None:
    ws = workspace()
    base = build_version("f", "v1", spec(), ws)
    assert build_version("f", "v1", spec(description="notes"), ws).id == base.id
    assert build_version("f", "v1", spec(params={"temperature": 0.5}), ws).id != base.id


def test_inline_form_equals_one_explicit_step() -> None:
    ws = workspace()
    inline = build_version("f", "v1", spec(provider="local"), ws)
    explicit = build_version(
        "f", "v1", VersionSpec(steps=[Step(name="main", provider="local", prompt="Review: {{ description }}")]), ws
    )
    assert inline.id == explicit.id


def test_implicit_provider_and_model_are_resolved_into_the_id() -> None:
    ws = workspace()
    implicit = build_version("f", "v1", spec(), ws)
    assert implicit.steps[0].provider == "local" and implicit.steps[0].model == "qwen2.5-coder-0.5b"
    assert implicit.id == build_version("f", "v1", spec(provider="local", model="qwen2.5-coder-0.5b"), ws).id
    other_model = WorkspaceConfig(providers={"local": ProviderConfig(type="local", model="qwen2.5-coder-1.5b")})
    assert build_version("f", "v1", spec(), other_model).id != implicit.id


def test_ambiguous_provider_is_a_clear_error() -> None:
    ws = workspace(a=ProviderConfig(type="local", model="m"), b=ProviderConfig(type="openai", model="m"))
    with pytest.raises(ConfigError, match="provider: NAME"):
        build_version("f", "v1", spec(), ws)


def test_editing_a_python_rule_makes_a_new_version(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    module = tmp_path / "rules_for_versions_test.py"
    module.write_text("def check(variables):\n    return {'ok': True}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    ws = workspace()
    rule = VersionSpec(python="rules_for_versions_test:check")
    before = build_version("f", "v1", rule, ws)
    module.write_text("def check(variables):\n    return {'ok': False}\n")
    after = build_version("f", "v1", rule, ws)
    assert before.id != after.id
    assert before.steps[0].provider == "python"
    sys.modules.pop("rules_for_versions_test", None)


def test_stored_content_rebuilds_the_same_version() -> None:
    version = build_version("f", "v1", spec(params={"seed": 3}, output_schema={"type": "object"}), workspace())
    again = version_from_content("f", "v1", version.content)
    assert again.id == version.id and again.steps == version.steps


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3),
    max_leaves=12,
)


@given(data=st.dictionaries(st.text(max_size=6), JSON, max_size=5))
def test_id_ignores_key_order(data: dict[str, object]) -> None:
    reordered = dict(reversed(list(data.items())))
    assert content_id(data) == content_id(reordered)
    assert canonical_json(data) == canonical_json(reordered)


def test_render_system_prompt_and_korean_text() -> None:
    step = Step(system="당신은 {{ role }} 입니다.", prompt="메뉴: {{ menu }}")
    messages = render_messages(step, {"role": "검수자", "menu": "김치찌개"})
    assert [m.role for m in messages] == ["system", "user"]
    assert messages[0].text == "당신은 검수자 입니다."
    assert messages[1].content == (TextPart("메뉴: 김치찌개"),)


def test_missing_variable_names_what_the_case_provides() -> None:
    with pytest.raises(TemplateError) as info:
        render_messages(Step(prompt="{{ menu_name }}"), {"menu": "x"}, where="features.f.versions.v1")
    assert "menu_name" in str(info.value) and "menu" in str(info.value.hint)


def test_sandbox_blocks_python_internals() -> None:
    with pytest.raises(TemplateError, match="unsafe"):
        render_messages(Step(prompt="{{ ''.__class__.__mro__[1].__subclasses__() }}"), {})


def test_syntax_error_reports_template_line() -> None:
    with pytest.raises(TemplateError, match="template line 2"):
        render_messages(Step(prompt="ok\n{% if %}"), {})


def test_image_file_becomes_data_url(tmp_path: Path) -> None:
    (tmp_path / "photo.bin").write_bytes(PNG_1x1)
    messages = render_messages(Step(prompt="look", images=["photo"]), {"photo": "photo.bin"}, base_dir=tmp_path)
    part = messages[-1].content[1]
    assert isinstance(part, ImagePart)
    assert part.url.startswith("data:image/png;base64,")
    url_messages = render_messages(Step(prompt="x", images=["p"]), {"p": "https://example.com/a.jpg"})
    assert url_messages[-1].content[1] == ImagePart("https://example.com/a.jpg")


def test_missing_image_file_and_variable(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="does not exist"):
        render_messages(Step(prompt="x", images=["p"]), {"p": "nope.jpg"}, base_dir=tmp_path)
    with pytest.raises(TemplateError, match="missing"):
        render_messages(Step(prompt="x", images=["p"]), {})


def test_diff_shows_changed_fields_with_line_diff() -> None:
    ws = workspace()
    a = build_version("f", "v1", spec(system="Line one\nLine two", params={"temperature": 0}), ws)
    b = build_version("f", "v2", spec(system="Line one\nLine 2", params={"temperature": 0.7}), ws)
    changes = {c.path: c for c in diff_versions(a, b)}
    assert set(changes) == {"steps.main.system", "steps.main.params.temperature"}
    assert "-Line two" in changes["steps.main.system"].lines and "+Line 2" in changes["steps.main.system"].lines
    assert changes["steps.main.params.temperature"].after == 0.7
    assert diff_versions(a, a) == []


def test_the_endpoint_is_part_of_the_id_but_credentials_and_speed_are_not() -> None:
    def vid(**fields: object) -> str:
        config = ProviderConfig.model_validate({"type": "openai", "model": "m", **fields})
        return build_version("f", "v", spec(), workspace(remote=config)).id

    default = vid()
    assert vid(base_url="http://a.example/v1") != default
    assert vid(base_url="http://a.example/v1") != vid(base_url="http://b.example/v1")
    assert vid(base_url="http://a.example/v1") == vid(base_url="http://a.example/v1/")
    assert vid(options={"extra_body": {"deployment": "x"}}) != default
    assert vid(options={"headers": {"x-ms-deployment": "gpt4"}}) != default
    # A changed key, a secret header, or a thread count changes nothing the model answers.
    assert vid(api_key="sk-one") == vid(api_key="sk-two") == default
    assert vid(options={"headers": {"Authorization": "Bearer abc"}}) == default
    assert vid(options={"n_threads": 4}) == default
    assert vid(base_url="http://u:pw1@a.example/v1?key=k1") == vid(base_url="http://u:pw2@a.example/v1?key=k2")


def test_endpoint_content_never_holds_credentials() -> None:
    config = ProviderConfig(
        type="openai",
        model="m",
        base_url="https://user:hunter22@api.example/v1?api-version=2024-06&key=sk-secret-1",
        options={"headers": {"api-key": "sk-secret-2", "x-model-route": "blue"}},
    )
    version = build_version("f", "v", spec(), workspace(remote=config))
    dumped = canonical_json(version.content)
    for secret in ("hunter22", "sk-secret-1", "sk-secret-2", "user:"):
        assert secret not in dumped
    endpoint = version.content["steps"][0]["endpoint"]
    assert endpoint["base_url"] == "https://api.example/v1?api-version=2024-06&key=***"
    assert endpoint["options"] == {"headers": {"x-model-route": "blue"}}
    assert version_from_content("f", "v", version.content).id == version.id


def test_a_default_endpoint_adds_nothing_to_the_content() -> None:
    version = build_version("f", "v", spec(), workspace())
    assert "endpoint" not in version.content["steps"][0]
