"""andon.yaml: validation, error messages that point at file:line:column, ${ENV} interpolation, secrets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from andon.config.loader import _interpolate, find_config, load_config
from andon.config.schema import WorkspaceConfig
from andon.errors import ConfigError
from andon.starter import starter_config


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "andon.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_starter_config_is_valid_and_declares_versions(tmp_path: Path) -> None:
    loaded = load_config(write(tmp_path, starter_config("demo")))
    assert loaded.config.name == "demo"
    assert loaded.config.providers["local"].type == "local"
    assert list(loaded.config.features["listing-title"].versions) == ["v1", "v2"]


def test_unknown_field_names_line_column_field_and_suggests(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "providers:\n  p: {type: python}\nfeatures:\n  f:\n    versions:\n      v1:\n        python: m:f\n"
        "        params:\n          temprature: 0.2\n",
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    text = str(info.value)
    assert f"{path}:9:11" in text
    assert "features.f.versions.v1.params.temprature" in text
    assert "did you mean 'temperature'" in text


def test_wrong_type_points_at_the_value_line(tmp_path: Path) -> None:
    path = write(tmp_path, "name: x\nproviders:\n  p:\n    type: openai\n    timeout_s: soon\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert f"{path}:5:5" in str(info.value)
    assert "providers.p.timeout_s" in str(info.value)


def test_missing_env_var_is_named_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, "providers:\n  oa:\n    type: openai\n    api_key: ${ANDON_TEST_MISSING_KEY}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    text = str(info.value)
    assert "ANDON_TEST_MISSING_KEY" in text and f"{path}:4:5" in text and "export" in text


def test_env_interpolation_default_and_escape(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "name: ${NAME:-fallback}\nproviders:\n  oa:\n    type: openai\n    base_url: http://${HOST}/v1\n"
        "    api_key: ${KEY}\n    options: {note: costs $$5}\n",
    )
    loaded = load_config(path, environ={"HOST": "127.0.0.1:9", "KEY": "sk-secret-value"})
    assert loaded.config.name == "fallback"
    provider = loaded.config.providers["oa"]
    assert provider.base_url == "http://127.0.0.1:9/v1"
    assert provider.options == {"note": "costs $5"}
    # Secrets never leak through repr or JSON dumps (which is what reports and the store would see).
    assert "sk-secret-value" not in repr(loaded.config)
    assert "sk-secret-value" not in loaded.config.model_dump_json()
    assert provider.api_key is not None and provider.api_key.get_secret_value() == "sk-secret-value"


def test_yaml_syntax_error_has_position(tmp_path: Path) -> None:
    path = write(tmp_path, "name: x\nproviders:\n  p: [type: python\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "YAML syntax error" in str(info.value) and f"{path}:" in str(info.value)


def test_duplicate_key_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "name: a\nname: b\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert f"{path}:2" in str(info.value)


def test_unknown_provider_reference_points_at_the_step(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "providers:\n  local: {type: local}\nfeatures:\n  f:\n    versions:\n      v1:\n        steps:\n"
        "          - name: a\n            provider: ghost\n            prompt: hi\n",
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    text = str(info.value)
    assert f"{path}:9:13" in text and "'ghost'" in text and "local" in text


def test_version_must_choose_one_form(tmp_path: Path) -> None:
    path = write(tmp_path, "features:\n  f:\n    versions:\n      v1:\n        prompt: a\n        steps: []\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "not both" in str(info.value) and f"{path}:4:7" in str(info.value)


def test_bad_feature_name_gets_naming_hint(tmp_path: Path) -> None:
    path = write(tmp_path, "features:\n  Menu Review:\n    versions: {}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert "lower-case" in str(info.value)


def test_not_utf8_and_not_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "andon.yaml"
    path.write_bytes(b"name: \xff\xfe\n")
    with pytest.raises(ConfigError, match="UTF-8"):
        load_config(path)
    path.write_text("- a\n- b\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(path)


def test_find_config_searches_parents(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANDON_WORKSPACE", raising=False)
    write(tmp_path, "name: x\n")
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    assert find_config(nested) == tmp_path / "andon.yaml"
    with pytest.raises(ConfigError, match="andon init"):
        find_config(Path("/"))


def test_json_schema_is_complete() -> None:
    schema = WorkspaceConfig.model_json_schema()
    text = json.dumps(schema)
    for field in ("providers", "features", "prices", "json_schema", "output_schema", "steps"):
        assert field in text


NAMES = st.from_regex(r"[A-Z][A-Z0-9_]{0,8}", fullmatch=True)
PLAIN = st.text(alphabet=st.characters(blacklist_characters="$"), max_size=30)


@given(prefix=PLAIN, name=NAMES, value=st.text(max_size=20), suffix=PLAIN)
def test_interpolation_replaces_exactly_the_reference(prefix: str, name: str, value: str, suffix: str) -> None:
    out = _interpolate(f"{prefix}${{{name}}}{suffix}", ("x",), {}, Path("andon.yaml"), {name: value})
    assert out == f"{prefix}{value}{suffix}"


@given(text=PLAIN)
def test_interpolation_leaves_plain_text_alone(text: str) -> None:
    assert _interpolate(text, ("x",), {}, Path("andon.yaml"), {}) == text


def test_every_message_has_english_and_korean_with_the_same_placeholders() -> None:
    import string

    from andon.messages import _catalogue, available_languages

    assert {"en", "ko"} <= set(available_languages())
    english, korean = _catalogue("en"), _catalogue("ko")
    assert english.keys() == korean.keys()
    fields = lambda text: {f for _, f, _, _ in string.Formatter().parse(text) if f}  # noqa: E731
    for key, text in english.items():
        assert fields(text) == fields(korean[key]), key
