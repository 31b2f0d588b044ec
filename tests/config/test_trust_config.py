"""andon.yaml's trust settings (issue 15): serve.data_use.send/mask/restore and disclosure, with file:line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from andon.config.loader import load_config
from andon.errors import ConfigError

BASE = "providers:\n  p: {type: python}\nfeatures:\n  f:\n    versions:\n      v1: {python: m:f}\n"


def _load(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "andon.yaml"
    path.write_text(BASE + extra, encoding="utf-8")
    return path


def test_defaults_send_everything_and_leave_the_notice_to_the_feature_kind(tmp_path: Path) -> None:
    feature = load_config(_load(tmp_path, "")).config.features["f"]
    assert feature.serve.data_use.send == "full" and feature.serve.data_use.restore is True
    assert feature.disclosure.enabled is None and feature.disclosure.text == {}


def test_masked_send_with_kinds_and_a_notice(tmp_path: Path) -> None:
    extra = (
        "    serve:\n      data_use: {send: masked, mask: [phones, rrn], restore: false}\n"
        "    disclosure:\n      text: {ko: AI가 작성한 답변입니다, en: Written by AI}\n"
    )
    feature = load_config(_load(tmp_path, extra)).config.features["f"]
    assert feature.serve.data_use.mask == ["phones", "rrn"] and feature.serve.data_use.restore is False
    assert feature.disclosure.text["ko"] == "AI가 작성한 답변입니다"


@pytest.mark.parametrize(
    ("extra", "where", "field"),
    [
        ("    serve:\n      data_use:\n        send: maskd\n", ":9:", "features.f.serve.data_use.send"),
        ("    serve:\n      data_use:\n        mask: [names]\n", ":9:", "features.f.serve.data_use.mask"),
        ("    disclosure:\n      enabled: sometimes\n", ":8:", "features.f.disclosure.enabled"),
    ],
)
def test_bad_trust_settings_name_the_line_and_field(tmp_path: Path, extra: str, where: str, field: str) -> None:
    path = _load(tmp_path, extra)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    text = str(info.value)
    assert f"{path}{where}" in text and field in text


def test_a_rate_limit_redis_that_is_no_url_names_its_line_and_the_form(tmp_path: Path) -> None:
    path = _load(tmp_path, "gateway:\n  rate_limit_redis: localhost:6379\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    text = str(info.value)
    assert f"{path}:8:" in text and "gateway.rate_limit_redis" in text and "redis://HOST:PORT/DB" in text
    good = _load(tmp_path, "gateway:\n  rate_limit_redis: redis://127.0.0.1:6379/0\n")
    assert load_config(good).config.gateway.rate_limit_redis == "redis://127.0.0.1:6379/0"
