"""The message catalogue: user-facing text keyed by id, one folder of TOML files per language.

Adding a language means adding a folder ``<code>/`` of ``*.toml`` files beside this file; no logic changes.
Each area (core, report, …) keeps its own file so people can translate and review them separately.
"""

from __future__ import annotations

import os
import string
import tomllib
from contextvars import ContextVar
from functools import cache
from importlib import resources
from typing import Any

from andon.messages.particles import PARTICLES, attach

DEFAULT_LANGUAGE = "en"


@cache
def _catalogue(language: str) -> dict[str, str]:
    folder = resources.files(__package__).joinpath(language)
    if not folder.is_dir():
        return {}
    messages: dict[str, str] = {}
    for item in sorted(folder.iterdir(), key=lambda p: p.name):
        if item.name.endswith(".toml"):
            messages.update({str(k): str(v) for k, v in tomllib.loads(item.read_text(encoding="utf-8")).items()})
    return messages


@cache
def available_languages() -> tuple[str, ...]:
    """Language codes that have a catalogue folder."""
    return tuple(sorted(p.name for p in resources.files(__package__).iterdir() if p.is_dir() and p.name.isalpha()))


_chosen: dict[str, str] = {}  # "language": the one set_language() chose for this process
# One request's language (a dashboard page in Korean while the process speaks English); asyncio tasks and
# asyncio.to_thread carry it, so errors raised deep in floor 7 for that request read in its language.
_request_language: ContextVar[str | None] = ContextVar("andon_request_language", default=None)


def _known(code: str) -> str:
    code = code.split("_")[0].split(".")[0].lower()  # ko_KR.UTF-8 → ko
    return code if code in available_languages() else DEFAULT_LANGUAGE


def set_language(code: str | None) -> str:
    """Make ``code`` (e.g. ``ko``) the language of :func:`t` in this process; None goes back to ``ANDON_LANG``."""
    if code:
        _chosen["language"] = _known(code)
    else:
        _chosen.pop("language", None)
    return current_language()


def speak_for_request(code: str) -> None:
    """Make ``code`` the language of :func:`t` in the current context only (one request's task)."""
    _request_language.set(_known(code))


def current_language() -> str:
    """This request's language, else the one :func:`set_language` chose, else ``ANDON_LANG``, else English."""
    return _request_language.get() or _chosen.get("language") or _known(os.environ.get("ANDON_LANG", DEFAULT_LANGUAGE))


class _Formatter(string.Formatter):
    """``str.format`` plus Korean particles: ``{name:을/를}`` appends the form that fits the value.

    A particle may follow an ordinary spec after a second colon: ``{value:.4g:이/가}``.
    """

    def format_field(self, value: Any, format_spec: str) -> str:
        spec, _, particle = format_spec.rpartition(":")
        if particle in PARTICLES:
            return attach(str(super().format_field(value, spec)) if spec else str(value), particle)
        return str(super().format_field(value, format_spec))


_FORMATTER = _Formatter()


def t(message_id: str, /, language: str | None = None, **values: Any) -> str:
    """Text for ``message_id`` in the current language, falling back to English, then to the id."""
    lang = language or current_language()
    template = _catalogue(lang).get(message_id) or _catalogue(DEFAULT_LANGUAGE).get(message_id) or message_id
    return _FORMATTER.format(template, **values) if values else template
