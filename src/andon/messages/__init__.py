"""The message catalogue: user-facing text keyed by id, one TOML file per language.

Adding a language means adding ``<code>.toml`` beside this file; no logic changes.
"""

from __future__ import annotations

import os
import tomllib
from functools import cache
from importlib import resources
from typing import Any

DEFAULT_LANGUAGE = "en"


@cache
def _catalogue(language: str) -> dict[str, str]:
    try:
        text = resources.files(__package__).joinpath(f"{language}.toml").read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    return {str(k): str(v) for k, v in tomllib.loads(text).items()}


def available_languages() -> list[str]:
    """Language codes that have a catalogue file."""
    return sorted(
        p.name.removesuffix(".toml") for p in resources.files(__package__).iterdir() if p.name.endswith(".toml")
    )


def current_language() -> str:
    """The language from ``ANDON_LANG`` (e.g. ``ko``), else English."""
    code = os.environ.get("ANDON_LANG", DEFAULT_LANGUAGE).split("_")[0].split(".")[0].lower()
    return code if code in available_languages() else DEFAULT_LANGUAGE


def t(message_id: str, /, language: str | None = None, **values: Any) -> str:
    """Text for ``message_id`` in the current language, falling back to English, then to the id."""
    lang = language or current_language()
    template = _catalogue(lang).get(message_id) or _catalogue(DEFAULT_LANGUAGE).get(message_id) or message_id
    return template.format(**values) if values else template
