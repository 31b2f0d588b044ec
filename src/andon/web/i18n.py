"""The page's language (a cookie, else the browser's Accept-Language) and Babel's formats for it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.numbers import format_currency, format_decimal, format_percent
from starlette.requests import Request

from andon.messages import DEFAULT_LANGUAGE, available_languages, t

LOCALES = {"en": "en_US", "ko": "ko_KR"}  # the region decides digit grouping and date order
_MAX_HEADER = 500


def parse_accept_language(header: str) -> list[str]:
    """Language codes of an Accept-Language header, most wanted first (``q=0`` left out)."""
    ranked: list[tuple[float, int, str]] = []
    for position, part in enumerate(header[:_MAX_HEADER].split(",")):
        tag, _, params = part.strip().partition(";")
        code = tag.strip().split("-")[0].lower()
        if not code.isalpha():
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if 0 < q <= 1:
            ranked.append((-q, position, code))
    return [code for _, _, code in sorted(ranked)]


def choose_language(cookie: str | None, accept_language: str | None) -> str:
    """The cookie's language if it is one we have, else the browser's first we have, else English."""
    known = available_languages()
    if cookie in known:
        return str(cookie)
    for code in parse_accept_language(accept_language or ""):
        if code in known:
            return code
    return DEFAULT_LANGUAGE


# A board shows thousands of numbers, most of them the same few values: Babel takes ~50 µs a number (it parses
# the locale and the pattern every time), so each language's text of a value is kept once made. The key holds
# the value's type and repr, so 1 and 1.0, or 0.0 and -0.0, never share a text by accident.
_FORMATTED: dict[tuple[str, str, int, type, str], str] = {}
_FORMATTED_MAX = 20_000


def _remember(key: tuple[str, str, int, type, str], text: str) -> str:
    if len(_FORMATTED) >= _FORMATTED_MAX:  # bounded: a long-running server sees endless distinct values
        _FORMATTED.clear()
    _FORMATTED[key] = text
    return text


@cache
def _locale(language: str) -> Locale:
    """Babel's locale for ``language``, parsed once (Babel builds a new one on every parse)."""
    return Locale.parse(LOCALES.get(language, language))


@dataclass(frozen=True, slots=True)
class Formats:
    """Messages, dates, numbers and money in one language, for templates."""

    language: str

    @property
    def locale(self) -> Locale:
        """Babel's locale for the language."""
        return _locale(self.language)

    def t(self, key: str, /, **values: Any) -> str:
        """The catalogue's text for ``key`` in this language."""
        return t(key, language=self.language, **values)

    def when(self, value: datetime | None) -> str:
        """A date and time, as the locale writes them (in UTC, which the page says)."""
        return "—" if value is None else format_datetime(value, "medium", tzinfo=value.tzinfo, locale=self.locale)

    def number(self, value: float | int | None, digits: int = 0) -> str:
        """A number with the locale's grouping, up to ``digits`` decimals."""
        if value is None:
            return "—"
        key = ("number", self.language, digits, type(value), repr(value))
        found = _FORMATTED.get(key)
        if found is None:
            pattern = "#,##0" + ("." + "#" * digits if digits else "")
            found = _remember(key, format_decimal(value, format=pattern, locale=self.locale))
        return found

    def step(self, start: datetime, *, quarter: bool) -> str:
        """A board column's name: the month ("Oct", "10월") or the quarter ("Q4", "4분기") that ``start`` opens."""
        return format_date(start.date(), "QQQ" if quarter else "LLL", locale=self.locale)

    def percent(self, value: float | None) -> str:
        """A share (0–1) as a percentage."""
        if value is None:
            return "—"
        key = ("percent", self.language, 0, type(value), repr(value))
        found = _FORMATTED.get(key)
        if found is None:
            found = _remember(key, format_percent(value, format="#,##0.#%", locale=self.locale))
        return found

    def money(self, value: float | None, currency: str) -> str:
        """An amount in ``currency`` (KRW without decimals, USD with cents), as the locale writes it."""
        return "—" if value is None else format_currency(value, currency, locale=self.locale)


def formats_of(request: Request, cookie_name: str) -> Formats:
    """The formats for this request's language."""
    return Formats(choose_language(request.cookies.get(cookie_name), request.headers.get("accept-language")))
