"""A slice criterion with a wrong key, read from andon.yaml by the real loader, is an error at its file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from andon.config.loader import load_config
from andon.errors import ConfigError

CONFIG = """\
providers:
  p: {type: python}
features:
  f:
    graders:
      - {type: label, path: decision}
    criteria:
      - accuracy >= 0.9
      - accuracy[tg=hard] >= 0.8
    versions:
      v1: {python: "m:f"}
"""


def test_a_bad_slice_key_names_the_file_the_line_and_the_keys_there_are(tmp_path: Path) -> None:
    path = tmp_path / "andon.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    text = str(info.value)
    assert f"{path}:9:" in text  # the line of the bad criterion, not of `criteria:` or of the feature
    assert "features.f.criteria" in text and "'tg'" in text and "did you mean 'tag'" in text
    assert "tag, label, violation" in text


def test_a_good_slice_criterion_loads(tmp_path: Path) -> None:
    path = tmp_path / "andon.yaml"
    path.write_text(CONFIG.replace("tg=hard", "tag=hard"), encoding="utf-8")
    assert load_config(path).config.features["f"].criteria[1] == "accuracy[tag=hard] >= 0.8"
