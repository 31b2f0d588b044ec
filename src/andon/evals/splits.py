"""A dataset's learning and judging splits, fixed by a hash of each case id so the improvement loop cannot overfit.

A case's side depends only on its own id and the salt: adding, removing or reordering other cases never moves
it, the same ids always give the same split, and no case is on both sides.

>>> split = Split(salt="menu", judge_share=0.5)
>>> split.side("c001") == split.side("c001")
True
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar

from andon.errors import ConfigError
from andon.messages import t

__all__ = ["DEFAULT_SALT", "Side", "Split"]

Side = Literal["learn", "judge"]
DEFAULT_SALT = "andon-split-1"
_SCALE = float(1 << 64)


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


C = TypeVar("C", bound=_HasId)


@dataclass(frozen=True, slots=True)
class Split:
    """Cases whose id hashes below ``judge_share`` judge; the rest are the ones the loop may learn from."""

    salt: str = DEFAULT_SALT
    judge_share: float = 0.5

    def __post_init__(self) -> None:
        if not 0.0 < self.judge_share < 1.0:
            raise ConfigError(
                t("improve.split.share", share=self.judge_share),
                where="--judge-share",
                hint=t("improve.split.share_hint"),
            )

    def position(self, case_id: str) -> float:
        """Where the case id falls in [0, 1): the first 8 bytes of sha256(salt, id)."""
        digest = hashlib.sha256(f"{self.salt}\x00{case_id}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / _SCALE

    def side(self, case_id: str) -> Side:
        """``judge`` or ``learn``."""
        return "judge" if self.position(case_id) < self.judge_share else "learn"

    def divide(self, cases: Sequence[C]) -> tuple[list[C], list[C]]:
        """(learning cases, judging cases), each in dataset order."""
        learn = [c for c in cases if self.side(c.id) == "learn"]
        judge = [c for c in cases if self.side(c.id) == "judge"]
        return learn, judge

    def to_json(self) -> dict[str, Any]:
        """The split as recorded with a run."""
        return {"method": "sha256(salt, case id)", "salt": self.salt, "judge_share": self.judge_share}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> Split:
        """Inverse of :meth:`to_json`; None is the default split."""
        data = data or {}
        return cls(str(data.get("salt", DEFAULT_SALT)), float(data.get("judge_share", 0.5)))
