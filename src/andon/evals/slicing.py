"""A slice of a dataset: the cases a run takes (``andon eval --tag/--case/--limit``)."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from andon.errors import ConfigError
from andon.evals.model import Case
from andon.messages import t

__all__ = ["CaseSlice"]


@dataclass(frozen=True)
class CaseSlice:
    """Part of a dataset: the cases with any of ``tags``, of those the ones in ``case_ids``, then the first ``limit``.

    An empty filter keeps every case; the cases keep their dataset order.
    """

    limit: int | None = None
    tags: tuple[str, ...] = ()
    case_ids: tuple[str, ...] = ()

    @property
    def is_whole(self) -> bool:
        """True when nothing is left out."""
        return self.limit is None and not self.tags and not self.case_ids

    def describe(self) -> str:
        """The slice as the options that make it, e.g. ``--tag hard --limit 10`` (empty for the whole dataset)."""
        parts = []
        if self.tags:
            parts.append(f"--tag {','.join(self.tags)}")
        if self.case_ids:
            parts.append(f"--case {','.join(self.case_ids)}")
        if self.limit is not None:
            parts.append(f"--limit {self.limit}")
        return " ".join(parts)

    def to_json(self) -> dict[str, Any]:
        """JSON form recorded with the run."""
        return {"limit": self.limit, "tags": list(self.tags), "case_ids": list(self.case_ids)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> CaseSlice:
        """Inverse of :meth:`to_json`; None is the whole dataset."""
        data = data or {}
        return cls(data.get("limit"), tuple(data.get("tags") or ()), tuple(data.get("case_ids") or ()))

    def apply(self, cases: Sequence[Case], where: str) -> list[Case]:
        """The cases in the slice; a tag or id that matches nothing is a ConfigError naming what exists."""
        picked = list(cases)
        if self.tags:
            known = sorted({tag for case in cases for tag in case.tags})
            for tag in self.tags:
                if tag not in known:
                    raise ConfigError(t("evals.plan.unknown_tag", tag=tag, known=", ".join(known) or "—"), where=where)
            picked = [c for c in picked if set(c.tags) & set(self.tags)]
        if self.case_ids:
            ids = [c.id for c in cases]
            for case_id in self.case_ids:
                if case_id not in ids:
                    close = difflib.get_close_matches(case_id, ids, n=1)
                    hint = t("evals.plan.did_you_mean", name=close[0]) if close else None
                    raise ConfigError(t("evals.plan.unknown_case", case_id=case_id), where=where, hint=hint)
            wanted = set(self.case_ids)
            picked = [c for c in picked if c.id in wanted]
        if self.limit is not None:
            if self.limit < 1:
                raise ConfigError(t("evals.plan.bad_limit", limit=self.limit), where="--limit")
            picked = picked[: self.limit]
        if not picked:
            raise ConfigError(t("evals.plan.empty", slice=self.describe()), where=where)
        return picked
