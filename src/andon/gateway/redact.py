"""Redaction of secrets and personal data before anything is stored: keys, emails, phones, RRNs, cards.

Each kind replaces what it finds with a marker such as ``[EMAIL]``. Kinds run in a fixed order (keys,
emails, resident registration numbers, cards, phones) so a longer number is never half-eaten by a
shorter pattern. Redaction errs towards removing too much: a stored trace cannot be un-leaked.

The detectors themselves (folding, patterns, ``find_entities``) live in ``andon.engine.pii``, shared
with masking before the provider; markers replace the ORIGINAL span and the text around it is stored as sent.

A string longer than ``MAX_FIELD_CHARS`` is not searched at all: it is stored as ``[TOO_LONG]`` (the
whole field; nothing of it is kept). That bounds the work per field and can never store unredacted text.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from andon.config.redactions import KINDS
from andon.config.schema import REDACTIONS
from andon.engine.pii import MARKERS, ORDER, RULES, Folded, find_entities, fold, luhn_valid
from andon.versions.canonical import canonical_json

__all__ = [
    "MARKERS", "MAX_FIELD_CHARS", "ORDER", "RULES", "TOO_LONG", "Folded", "Redactor", "StoragePolicy",
    "find_entities", "fold", "hash_messages", "input_hash", "is_image_data_url", "luhn_valid", "redact",
    "redact_messages", "sha256_text",
]  # fmt: skip

TOO_LONG = "[TOO_LONG]"
# About 250k tokens: longer than any prompt a feature sends today, and a search over it holds the GIL for
# only milliseconds per pattern, so a worker thread redacting it leaves the event loop responsive.
MAX_FIELD_CHARS = 1_000_000
_A = re.ASCII


def _replace(text: str, spans: list[tuple[int, int, str]]) -> str:
    pieces: list[str] = []
    last = 0
    for start, end, kind in spans:
        pieces.append(text[last:start])
        pieces.append(MARKERS[kind])
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


@dataclass(frozen=True, slots=True)
class Redactor:
    """Applies the chosen kinds (names from ``andon.config.schema.REDACTIONS``) to text and JSON values.

    A string longer than ``max_chars`` becomes ``[TOO_LONG]`` as a whole (see the module's docstring).
    """

    kinds: tuple[str, ...] = REDACTIONS
    max_chars: int = MAX_FIELD_CHARS

    def __post_init__(self) -> None:
        unknown = sorted(set(self.kinds) - set(KINDS))
        if unknown:
            raise ValueError(f"unknown redaction(s) {unknown}; known: {', '.join(KINDS)}")

    def text(self, text: str) -> str:
        """``text`` with every match of the chosen kinds replaced by its marker."""
        if not self.kinds:
            return text
        if len(text) > self.max_chars:
            return TOO_LONG
        spans = find_entities(text, self.kinds)
        return _replace(text, spans) if spans else text

    def value(self, value: Any) -> Any:
        """A JSON value with every string redacted; keys, numbers and ``data:`` URLs (images) are kept."""
        if isinstance(value, str):
            return value if is_image_data_url(value) else self.text(value)
        if isinstance(value, Mapping):
            return {key: self.value(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(item) for item in value]
        return value

    def tags(self, tags: Mapping[str, Any]) -> dict[str, Any]:
        """Tags (or OpenAI ``metadata``) with keys and values redacted: clients choose both freely."""
        return {self.text(str(key)): self.value(item) for key, item in tags.items()}


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
class _MemoRedactor(Redactor):
    """A redactor that redacts each distinct text once: one call's stored forms repeat the same texts (the prompt in
    the trace's input, the record's messages and each step's; the answer in the trace, the record and its step)."""

    seen: dict[str, str] = field(default_factory=dict)

    def text(self, text: str) -> str:
        done = self.seen.get(text)
        if done is None:
            done = self.seen[text] = Redactor.text(self, text)
        return done


@dataclass(frozen=True, slots=True)
class StoragePolicy:
    """What a feature's ``data_use.inputs`` keeps of one call before it is stored.

    - ``full``: everything as it was.
    - ``redacted``: inputs, rendered messages, outputs, errors, tags and review items with the chosen
      kinds replaced by markers (images are kept; text patterns do not apply to them).
    - ``hash``: the trace keeps no input (only ``input_hash``, the sha256 of the canonical variables);
      provenance messages keep roles, order and part types, each text and image URL replaced by
      ``sha256:<hex>``; outputs and tags are redacted as in ``redacted``. Equal inputs can still be matched
      by hash, and short guessable inputs (a phone number) can be found by hashing candidates.
    """

    mode: str
    redactor: Redactor

    @classmethod
    def of(cls, inputs: str, kinds: Iterable[str]) -> StoragePolicy:
        """The policy for a ``data_use`` setting."""
        if inputs not in ("full", "redacted", "hash"):
            raise ValueError(f"unknown data_use.inputs {inputs!r}")
        return cls(inputs, Redactor(tuple(kinds)))

    def once(self) -> StoragePolicy:
        """The same policy, redacting each distinct text only once: for the stored forms of ONE call (it keeps the
        texts it saw until it is dropped)."""
        if self.mode == "full" or not self.redactor.kinds:
            return self
        return StoragePolicy(self.mode, _MemoRedactor(self.redactor.kinds, self.redactor.max_chars))

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

    def tags(self, tags: Mapping[str, Any]) -> dict[str, Any]:
        """A trace's tags (the invoke body's ``tags``, the OpenAI ``metadata``) as stored."""
        return dict(tags) if self.mode == "full" else self.redactor.tags(tags)

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
