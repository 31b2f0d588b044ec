"""Redaction of secrets and personal data before anything is stored: keys, emails, phones, RRNs, cards.

Each kind replaces what it finds with a marker such as ``[EMAIL]``. Kinds run in a fixed order (keys,
emails, resident registration numbers, cards, phones) so a longer number is never half-eaten by a
shorter pattern. Redaction errs towards removing too much: a stored trace cannot be un-leaked.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from andon.config.schema import REDACTIONS
from andon.versions.canonical import canonical_json

MARKERS: dict[str, str] = {
    "api_keys": "[API_KEY]",
    "emails": "[EMAIL]",
    "rrn": "[RRN]",
    "cards": "[CARD]",
    "phones": "[PHONE]",
}
ORDER = ("api_keys", "emails", "rrn", "cards", "phones")

_A = re.ASCII  # word and digit classes mean ASCII only, so Korean text right before a number is a boundary
_API_KEYS = re.compile(
    r"(?<![A-Za-z0-9_-])(?:"
    r"andon_sk_[A-Za-z0-9_-]{8,}"  # our own gateway keys
    r"|sk-[A-Za-z0-9_-]{16,}"  # OpenAI, Anthropic (sk-ant-…), most OpenAI-compatible hosts
    r"|AKIA[0-9A-Z]{16}"  # AWS access key ids
    r"|gh[pousr]_[A-Za-z0-9]{30,}"  # GitHub tokens
    r"|xox[abprs]-[A-Za-z0-9-]{10,}"  # Slack tokens
    r")",
    _A,
)
# The word "Bearer" stays so a reader still sees that a credential was there.
_BEARER = re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9\-._~+/]{16,}=*", _A)
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![A-Za-z0-9-])", _A
)
# YYMMDD-GNNNNNN: a real month and day, then the gender/century digit (1-4 citizens, 5-8 foreign residents).
_RRN = re.compile(r"(?<!\d)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01]) ?[-–]? ?[1-8]\d{6}(?!\d)", _A)
# 13-19 digits, optionally grouped by single spaces or dashes; replaced only when the Luhn check passes.
_CARD = re.compile(r"(?<![\d-])\d(?:[ -]?\d){12,18}(?!\d)", _A)
# International form: +CC then digit groups (+82 10-1234-5678, +1 (415) 555-0100); 8-15 digits in all.
_INTERNATIONAL = re.compile(r"(?<![A-Za-z0-9+])\+\d{1,3}(?:[ .-]?\(?\d{1,5}\)?){1,6}(?!\d)", _A)
_PHONES = (
    # Korean numbers: mobile 010/011/016-019, Seoul 02, regional 0xx, 050x/070 virtual, 080 toll-free.
    re.compile(r"(?<![A-Za-z0-9])0(?:1[016789]|2|[3-6][1-5]|50\d?|70|80)[ .-]?\d{3,4}[ .-]?\d{4}(?!\d)", _A),
    # Korean numbers with the country code but no plus: 82-10-1234-5678.
    re.compile(r"(?<![A-Za-z0-9])82[ .-]0?(?:1[016789]|2|[3-6][1-5]|70)[ .-]?\d{3,4}[ .-]?\d{4}(?!\d)", _A),
    # Nationwide service numbers such as 1588-1234 (card companies, banks, delivery).
    re.compile(r"(?<![A-Za-z0-9-])1[5-9]\d{2}-\d{4}(?![\d-])", _A),
    # North American numbers with separators: (415) 555-0100, 415-555-0100.
    re.compile(r"(?<![A-Za-z0-9)])\(?\d{3}\)?[ .-]\d{3}[ .-]\d{4}(?![\d-])", _A),
)


def luhn_valid(digits: str) -> bool:
    """Whether a string of digits passes the Luhn checksum used by payment card numbers."""
    if not digits.isdigit():
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _cards(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        digits = re.sub(r"\D", "", match.group(0))
        return MARKERS["cards"] if luhn_valid(digits) else match.group(0)

    return _CARD.sub(replace, text)


def _api_keys(text: str) -> str:
    text = _API_KEYS.sub(MARKERS["api_keys"], text)
    return _BEARER.sub(lambda m: f"{m.group(1)} {MARKERS['api_keys']}", text)


def _phones(text: str) -> str:
    def international(match: re.Match[str]) -> str:
        digits = sum(char.isdigit() for char in match.group(0))
        return MARKERS["phones"] if 8 <= digits <= 15 else match.group(0)

    text = _INTERNATIONAL.sub(international, text)
    for pattern in _PHONES:
        text = pattern.sub(MARKERS["phones"], text)
    return text


_STEPS: dict[str, Callable[[str], str]] = {
    "api_keys": _api_keys,
    "emails": lambda text: _EMAIL.sub(MARKERS["emails"], text),
    "rrn": lambda text: _RRN.sub(MARKERS["rrn"], text),
    "cards": _cards,
    "phones": _phones,
}


@dataclass(frozen=True, slots=True)
class Redactor:
    """Applies the chosen kinds (names from ``andon.config.schema.REDACTIONS``) to text and JSON values."""

    kinds: tuple[str, ...] = REDACTIONS

    def __post_init__(self) -> None:
        unknown = sorted(set(self.kinds) - set(REDACTIONS))
        if unknown:
            raise ValueError(f"unknown redaction(s) {unknown}; known: {', '.join(REDACTIONS)}")

    def text(self, text: str) -> str:
        """``text`` with every match of the chosen kinds replaced by its marker."""
        for kind in ORDER:
            if kind in self.kinds:
                text = _STEPS[kind](text)
        return text

    def value(self, value: Any) -> Any:
        """A JSON value with every string redacted; keys, numbers and ``data:`` URLs (images) are kept."""
        if isinstance(value, str):
            return value if is_image_data_url(value) else self.text(value)
        if isinstance(value, Mapping):
            return {key: self.value(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(item) for item in value]
        return value


_DATA_IMAGE = re.compile(r"data:image/[A-Za-z0-9.+-]+;base64,", _A)
_BASE64 = re.compile(r"[A-Za-z0-9+/=\s]*", _A)


def is_image_data_url(text: str) -> bool:
    """Whether ``text`` is a base64 ``data:image/…`` URL (its payload cannot hold text worth redacting)."""
    head = _DATA_IMAGE.match(text)
    return head is not None and _BASE64.fullmatch(text, head.end()) is not None


def redact(text: str, kinds: Iterable[str] = REDACTIONS) -> str:
    """Shorthand: ``text`` redacted for ``kinds`` (all by default)."""
    return Redactor(tuple(kinds)).text(text)


def sha256_text(text: str) -> str:
    """The sha256 hex digest of UTF-8 text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def input_hash(variables: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON of the variables: equal inputs hash equal, whatever the key order."""
    return sha256_text(canonical_json(_jsonable(variables)))


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, bytes | bytearray):
        return {"sha256": hashlib.sha256(value).hexdigest()}
    if isinstance(value, float) and value != value:  # NaN has no canonical JSON
        return "NaN"
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def hash_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Messages with each text part and image URL replaced by ``sha256:<hex>`` of it; roles and order kept."""
    hashed: list[dict[str, Any]] = []
    for message in messages:
        parts: list[dict[str, Any]] = []
        for part in message.get("content", []):
            if part.get("type") == "text":
                parts.append({"type": "text", "text": f"sha256:{sha256_text(part.get('text', ''))}"})
            else:
                parts.append({**part, "url": f"sha256:{sha256_text(str(part.get('url', '')))}"})
        hashed.append({**message, "content": parts})
    return hashed


def redact_messages(messages: list[dict[str, Any]], redactor: Redactor) -> list[dict[str, Any]]:
    """Messages with every text part redacted; images are left as they are (text patterns do not apply)."""
    out: list[dict[str, Any]] = []
    for message in messages:
        parts = [
            {**part, "text": redactor.text(part.get("text", ""))} if part.get("type") == "text" else part
            for part in message.get("content", [])
        ]
        out.append({**message, "content": parts})
    return out


@dataclass(frozen=True, slots=True)
class StoragePolicy:
    """What a feature's ``data_use.inputs`` keeps of one call before it is stored.

    - ``full``: everything as it was.
    - ``redacted``: inputs, rendered messages, outputs, errors and review items with the chosen kinds
      replaced by markers (images are kept; text patterns do not apply to them).
    - ``hash``: the trace keeps no input (only ``input_hash``, the sha256 of the canonical variables);
      provenance messages keep roles, order and part types, each text and image URL replaced by
      ``sha256:<hex>``; outputs are redacted as in ``redacted``. Equal inputs can still be matched by
      hash, and short guessable inputs (a phone number) can be found by hashing candidates.
    """

    mode: str
    redactor: Redactor

    @classmethod
    def of(cls, inputs: str, kinds: Iterable[str]) -> StoragePolicy:
        """The policy for a ``data_use`` setting."""
        if inputs not in ("full", "redacted", "hash"):
            raise ValueError(f"unknown data_use.inputs {inputs!r}")
        return cls(inputs, Redactor(tuple(kinds)))

    def input(self, variables: Mapping[str, Any]) -> Any:
        """The variables as the trace and review items store them (always plain JSON)."""
        if self.mode == "full":
            return _jsonable(variables)
        if self.mode == "redacted":
            return self.redactor.value(_jsonable(variables))
        return None

    def text(self, text: str | None) -> str | None:
        """An output, error or comment as stored."""
        if text is None or self.mode == "full":
            return text
        return self.redactor.text(text)

    def value(self, value: Any) -> Any:
        """A JSON output as stored."""
        return value if self.mode == "full" else self.redactor.value(value)

    def messages(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Rendered provenance messages as stored."""
        if self.mode == "full":
            return messages
        if self.mode == "redacted":
            return redact_messages(messages, self.redactor)
        return hash_messages(messages)

    def step(self, step: dict[str, Any]) -> dict[str, Any]:
        """One step's provenance (``OutputRecord.steps`` item) as stored."""
        if self.mode == "full":
            return step
        return {
            **step,
            "messages": self.messages(step.get("messages") or []),
            "text": self.text(step.get("text")),
            "parsed": self.value(step.get("parsed")),
            "error": self.text(step.get("error")),
        }
