"""Problems found in a user's files: each names file:line:column, the dotted field, and how to fix it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from andon.errors import ConfigError
from andon.messages import t


@dataclass(frozen=True)
class Problem:
    """One thing wrong: where (``file:line:col``), the dotted field (may be empty), what, and a fix-it hint."""

    where: str
    field: str
    message: str
    hint: str | None = None

    def line(self) -> str:
        """``where: field: message`` on one line (the hint goes on its own line)."""
        field = f"{self.field}: " if self.field else ""
        return f"{self.where}: {field}{self.message}"

    def as_json(self) -> dict[str, str | None]:
        """Plain data for ``--json`` output."""
        return {"where": self.where, "field": self.field, "message": self.message, "hint": self.hint}


class InvalidConfig(ConfigError):
    """One or more problems; ``problems`` keeps every one so ``andon check`` can list them all."""

    def __init__(self, problems: Sequence[Problem], *, path: str, default_hint: str | None = None) -> None:
        self.problems = list(problems)
        first = self.problems[0]
        if len(self.problems) == 1:
            message = t("house2.load.invalid_one", problem=_field_message(first))
            super().__init__(message, where=first.where, hint=first.hint or default_hint)
        else:
            listed = "\n  ".join(_with_hint(p) for p in self.problems)
            summary = t("check.problems_count", n=len(self.problems))
            message = t("house2.load.invalid_many", summary=summary, listed=listed)
            super().__init__(message, where=path, hint=default_hint)


def _with_hint(problem: Problem) -> str:
    return problem.line() + (f"\n    {t('hint.prefix')}: {problem.hint}" if problem.hint else "")


def _field_message(problem: Problem) -> str:
    return f"{problem.field}: {problem.message}" if problem.field else problem.message
