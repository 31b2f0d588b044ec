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


# Untrusted YAML (issue 17 item 5): alias bombs, deep nesting and tags fail fast with file:line.

BOMB = "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9) if prev else ', '.join(['lol'] * 9)}]\n"
    for prev, name in zip(["", *"abcdefgh"], "abcdefghi", strict=True)
)

_BOUNDED_LOAD = """
import json, resource, sys, tracemalloc
resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))  # a runaway expansion dies here, not the machine
from pathlib import Path
from andon.errors import ConfigError
tracemalloc.start()
try:
    {call}
    print(json.dumps({{"error": None}}))
except ConfigError as exc:
    peak = tracemalloc.get_traced_memory()[1]
    print(json.dumps({{"error": exc.message, "where": exc.where, "peak": peak}}))
"""


def _bounded(call: str) -> dict[str, object]:
    """Run ``call`` in a child limited to 1 GiB of address space; its ConfigError and peak allocation."""
    import subprocess
    import sys

    child = subprocess.run(
        [sys.executable, "-c", _BOUNDED_LOAD.format(call=call)], capture_output=True, text=True, timeout=300
    )
    assert child.returncode == 0, child.stderr[-2000:]
    result: dict[str, object] = json.loads(child.stdout.strip().splitlines()[-1])
    return result


def test_alias_bomb_in_andon_yaml_fails_with_its_line_and_bounded_memory(tmp_path: Path) -> None:
    path = write(tmp_path, "name: x\n" + BOMB)
    result = _bounded(f"from andon.config.loader import load_config; load_config(Path({str(path)!r}))")
    assert "alias bomb" in str(result["error"])
    file, line, _ = str(result["where"]).rsplit(":", 2)
    assert file == str(path) and 2 <= int(line) <= 10  # one of the aliasing lines, not the file as a whole
    assert int(str(result["peak"])) < 50 * 1024 * 1024


def test_alias_bomb_in_a_yaml_dataset_fails_with_its_line(tmp_path: Path) -> None:
    data = tmp_path / "cases.yaml"
    data.write_text("- id: a\n  vars:\n" + "".join("    " + line + "\n" for line in BOMB.splitlines()))
    call = f"from andon.evals.dataset import load_dataset; load_dataset(Path({str(data)!r}), Path({str(tmp_path)!r}))"
    result = _bounded(call)
    assert "alias bomb" in str(result["error"]) and str(result["where"]).startswith(f"{data}:")
    assert int(str(result["peak"])) < 50 * 1024 * 1024


def test_too_many_aliases_are_refused_even_when_each_is_small(tmp_path: Path) -> None:
    items = ", ".join(["*p"] * 20_001)
    path = write(tmp_path, f"name: x\nshared: &p {{temperature: 0}}\nmany: [{items}]\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value.where).startswith(f"{path}:3:") and "more than 10000 times" in info.value.message


def test_a_few_aliases_still_work(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "providers:\n  p: {type: python}\nfeatures:\n  f:\n    versions:\n"
        "      v1: {python: 'm:f', params: &params {temperature: 0.2, seed: 7}}\n"
        "      v2: {python: 'm:g', params: *params}\n",
    )
    versions = load_config(path).config.features["f"].versions
    assert versions["v1"].params == versions["v2"].params and versions["v2"].params.seed == 7


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("!!python/object/apply:os.system ['echo hi']", "!!python/object/apply:os.system"),
        ("!!python/name:os.system", "!!python/name:os.system"),
        ("!!int abc", "!!int"),
        ("!!bool maybe", "!!bool"),
        ("!!omap 5", "!!omap"),
        ("!!binary aGVsbG8=", "!!binary"),
        ("!custom {a: 1}", "!custom"),
    ],
)
def test_yaml_tags_are_refused_with_their_line(tmp_path: Path, value: str, shown: str) -> None:
    path = write(tmp_path, f"name: x\nfeatures: {value}\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.where == f"{path}:2:11"
    assert shown in info.value.message and "tag" in info.value.message


def test_str_tag_is_plain_text(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "name: !!str 010\n")).config.name == "010"


def test_deep_nesting_is_refused_before_parsing_recurses(tmp_path: Path) -> None:
    path = write(tmp_path, "name: x\nexchange_rates: " + "[" * 5000 + "]" * 5000 + "\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value.where).startswith(f"{path}:2:") and "levels deep" in info.value.message


YAML_KEYS = st.text(alphabet=st.characters(categories=("L", "N"), include_characters="_-"), min_size=1, max_size=8)
PRINTABLE = st.characters(exclude_categories=("Cc", "Cs", "Zl", "Zp"))  # ruamel folds other line breaks
YAML_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(10**6), 10**6), st.text(PRINTABLE, max_size=20))
YAML_DATA = st.recursive(
    YAML_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(YAML_KEYS, inner, max_size=4),
    max_leaves=20,
)


@given(data=st.dictionaries(YAML_KEYS, YAML_DATA, max_size=5))
def test_alias_free_yaml_reads_back_exactly(data: dict[str, object]) -> None:
    import io

    from ruamel.yaml import YAML

    from andon.config.yaml_source import read_yaml

    buffer = io.StringIO()
    YAML(typ="rt").dump(data, buffer)
    parsed, source, problems = read_yaml(buffer.getvalue(), Path("x.yaml"), None)
    assert parsed == data and problems == []
    assert set(source.keys) >= {(key,) for key in data}
