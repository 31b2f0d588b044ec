"""Hangul syllables taken apart and put back by arithmetic on their code points (U+AC00 + (L·21 + V)·28 + T)."""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["FINAL_IEUNG", "FINAL_TO_INITIAL", "INITIAL_IEUNG", "Syllable", "compose", "decompose", "is_syllable"]

BASE = 0xAC00
LAST = 0xD7A3
VOWELS = 21
FINALS = 28  # index 0: no final consonant
INITIAL_IEUNG = 11
FINAL_IEUNG = 21  # ㅇ as an initial: silent, so a final consonant before it is heard on it

# A final consonant (index) that is also an initial (index): the pairs liaison (연음) moves across a syllable.
# ㅎ is left out: before ㅇ it falls silent (좋아 → 조아) rather than moving.
FINAL_TO_INITIAL = {1: 0, 2: 1, 4: 2, 7: 3, 8: 5, 16: 6, 17: 7, 19: 9, 20: 10, 22: 12, 23: 14, 24: 15, 25: 16, 26: 17}


class Syllable(NamedTuple):
    """A syllable's initial, vowel and final indices (final 0: none)."""

    initial: int
    vowel: int
    final: int


def is_syllable(char: str) -> bool:
    """True for one precomposed Hangul syllable (가 … 힣)."""
    return len(char) == 1 and BASE <= ord(char) <= LAST


def decompose(char: str) -> Syllable:
    """The indices of a precomposed syllable; anything else is a ValueError."""
    if not is_syllable(char):
        raise ValueError(f"not a Hangul syllable: {char!r}")
    code = ord(char) - BASE
    return Syllable(code // (VOWELS * FINALS), code % (VOWELS * FINALS) // FINALS, code % FINALS)


def compose(syllable: Syllable) -> str:
    """The syllable of these indices (the inverse of :func:`decompose`)."""
    initial, vowel, final = syllable
    if not (0 <= initial < 19 and 0 <= vowel < VOWELS and 0 <= final < FINALS):
        raise ValueError(f"no Hangul syllable has indices {tuple(syllable)}")
    return chr(BASE + (initial * VOWELS + vowel) * FINALS + final)
