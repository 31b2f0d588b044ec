"""Masking before the provider: personal data replaced by numbered placeholders, put back in the answer.

With ``serve.data_use.send: masked`` every value ``andon.engine.pii`` finds in a rendered message becomes
a typed placeholder such as ``[PHONE_1]`` (the same value gets the same placeholder throughout one call),
so the model never receives it; the answer gets the values back when ``restore`` allows.

A user may type a placeholder-shaped text themselves ("[PHONE_1]"). Such tokens are reserved before any
number is given out (``run_version`` reserves the whole call's variables first, and each text is reserved
as it is masked), so an issued placeholder never equals one in the call's own text; restoring touches only
issued placeholders, which makes ``restore(mask(text)) == text`` for every text.

    >>> masker = Masker(MaskPolicy())
    >>> masker.mask("call 010-1234-5678 or 010-1234-5678, not [PHONE_1]")
    'call [PHONE_2] or [PHONE_2], not [PHONE_1]'
    >>> masker.restore("I will call [PHONE_2].")
    'I will call 010-1234-5678.'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from andon.config.schema import REDACTIONS, DataUseConfig
from andon.engine.pii import find_entities
from andon.providers.base import Message, TextPart

# The placeholder's type word per detector kind: short, upper case, and what a model reads as "a phone".
TYPE_WORDS: dict[str, str] = {
    "api_keys": "API_KEY",
    "emails": "EMAIL",
    "rrn": "RRN",
    "cards": "CARD",
    "phones": "PHONE",
    "addresses": "ADDRESS",
}
_PLACEHOLDER = re.compile(r"\[(API_KEY|EMAIL|RRN|CARD|PHONE|ADDRESS)_([0-9]{1,9})\]")


@dataclass(frozen=True, slots=True)
class MaskPolicy:
    """Which detector kinds are masked, and whether the answer gets the original values back."""

    kinds: tuple[str, ...] = REDACTIONS
    restore: bool = True

    @classmethod
    def of(cls, data_use: DataUseConfig) -> MaskPolicy | None:
        """The policy of a feature's ``serve.data_use`` (None when it sends everything as rendered)."""
        if data_use.send != "masked":
            return None
        return cls(tuple(data_use.mask), data_use.restore)


class Masker:
    """One call's placeholders: issued per value, kept for restoring; never holds more than one call's data."""

    def __init__(self, policy: MaskPolicy) -> None:
        self.policy = policy
        self._by_value: dict[tuple[str, str], str] = {}
        self._values: dict[str, str] = {}  # issued placeholder -> original value
        self._taken: set[str] = set()  # placeholder-shaped tokens seen in the call's own text
        self._next: dict[str, int] = {}

    @property
    def counts(self) -> dict[str, int]:
        """How many distinct values of each type were masked so far (e.g. ``{"PHONE": 2}``)."""
        counts: dict[str, int] = {}
        for placeholder in self._values:
            word = placeholder[1:].rpartition("_")[0]
            counts[word] = counts.get(word, 0) + 1
        return counts

    def reserve(self, value: Any) -> None:
        """Keep every placeholder-shaped token in ``value`` (any JSON) from being issued."""
        if isinstance(value, str):
            self._taken.update(match.group(0) for match in _PLACEHOLDER.finditer(value))
        elif isinstance(value, Mapping):
            for item in value.values():
                self.reserve(item)
        elif isinstance(value, list | tuple):
            for item in value:
                self.reserve(item)

    def _placeholder(self, kind: str, value: str) -> str:
        known = self._by_value.get((kind, value))
        if known is not None:
            return known
        word = TYPE_WORDS[kind]
        number = self._next.get(word, 1)
        while (placeholder := f"[{word}_{number}]") in self._taken:
            number += 1
        self._next[word] = number + 1
        self._taken.add(placeholder)
        self._by_value[(kind, value)] = placeholder
        self._values[placeholder] = value
        return placeholder

    def mask(self, text: str) -> str:
        """``text`` with every detected value replaced by its placeholder."""
        if not self.policy.kinds:
            return text
        self.reserve(text)
        spans = find_entities(text, self.policy.kinds)
        if not spans:
            return text
        pieces: list[str] = []
        last = 0
        for start, end, kind in spans:
            pieces += (text[last:start], self._placeholder(kind, text[start:end]))
            last = end
        pieces.append(text[last:])
        return "".join(pieces)

    def mask_value(self, value: Any) -> Any:
        """A JSON value with every string masked (keys too: clients choose them freely)."""
        if isinstance(value, str):
            return self.mask(value)
        if isinstance(value, Mapping):
            return {self.mask(str(key)): self.mask_value(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.mask_value(item) for item in value]
        return value

    def mask_messages(self, messages: tuple[Message, ...]) -> tuple[Message, ...]:
        """Messages with each text part masked; images go as they are (text patterns do not apply)."""
        return tuple(
            Message(
                message.role,
                tuple(
                    TextPart(self.mask(part.text)) if isinstance(part, TextPart) else part for part in message.content
                ),
            )
            for message in messages
        )

    def restore(self, text: str) -> str:
        """``text`` with the placeholders this masker issued replaced by their values; other tokens stay."""
        if not self._values:
            return text
        return _PLACEHOLDER.sub(lambda match: self._values.get(match.group(0), match.group(0)), text)

    def restore_value(self, value: Any) -> Any:
        """A JSON value (a parsed answer) with every string restored."""
        if isinstance(value, str):
            return self.restore(value)
        if isinstance(value, Mapping):
            return {self.restore(str(key)): self.restore_value(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.restore_value(item) for item in value]
        return value

    def provenance(self) -> dict[str, Any]:
        """What a step's provenance says about masking: types and counts, never the values."""
        return {"send": "masked", "restore": self.policy.restore, "placeholders": self.counts}


__all__ = ["TYPE_WORDS", "MaskPolicy", "Masker"]
