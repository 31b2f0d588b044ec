"""The perturbation interface: one way to change a case that should leave its answer alone.

A perturbation returns the changed case, or None when it has nothing to change in this case (no Hangul to
misspell, no list of options to reorder); the same seed always makes the same change.
"""

from __future__ import annotations

import random
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar, Protocol

from andon.config.robustness import PerturbationSettings
from andon.errors import ConfigError
from andon.evals.dataset import FILE_SUFFIXES
from andon.evals.model import Case
from andon.messages import t

__all__ = ["Paraphraser", "Perturbation", "Perturbed", "TextPerturbation", "case_rng", "longest_text", "text_fields"]


class Paraphraser(Protocol):
    """Rewrites ``text`` with ``provider``'s model: the new text and the id of the stored output that wrote it."""

    async def __call__(self, provider: str, model: str | None, text: str, case_id: str) -> tuple[str, str]: ...


SETTING_FIELDS = ("fields", "rate", "texts", "to", "provider", "model", "options")


@dataclass(frozen=True)
class Perturbed:
    """A perturbed case, the original it pairs with, and the output that wrote it (paraphrases only)."""

    case: Case
    original_id: str
    perturbation: str
    output_id: str | None = None


def case_rng(seed: int, name: str, case_id: str) -> random.Random:
    """The random source of one perturbation of one case: the same for the same seed, whatever else runs."""
    # A string seed is hashed with SHA-512 by random.Random, so it is stable across processes (unlike hash()).
    return random.Random(f"{seed}:{name}:{case_id}")


def _is_text(value: Any) -> bool:
    if not isinstance(value, str) or not value.strip() or "://" in value:
        return False
    # The dataset resolved file variables to absolute paths: a photo's path is no text to misspell.
    return not (value.lower().endswith(FILE_SUFFIXES) and Path(value).is_absolute())


def text_fields(case: Case, only: Iterable[str] | None) -> list[str]:
    """The case's variables holding text (or those of ``only`` that do), in the case's order."""
    wanted = set(only) if only is not None else None
    return [k for k, v in case.vars.items() if (wanted is None or k in wanted) and _is_text(v)]


def longest_text(case: Case, only: Iterable[str] | None) -> str | None:
    """The variable with the most text (of ``only``), the one a suffix or a paraphrase changes; None if none."""
    names = text_fields(case, only)
    return max(names, key=lambda k: len(str(case.vars[k]))) if names else None


class Perturbation(ABC):
    """One perturbation type; ``uses`` names the settings it reads (any other set field is a ConfigError)."""

    uses: ClassVar[frozenset[str]] = frozenset({"fields"})

    def __init__(self, settings: PerturbationSettings, *, where: str) -> None:
        self.settings = settings
        self.where = where
        for name in SETTING_FIELDS:
            if name in settings.model_fields_set and name not in self.uses:
                raise ConfigError(
                    t("evalrobust.perturb.unused_field", field=name, type=settings.type),
                    where=f"{where}.{name}",
                    hint=t("evalrobust.perturb.unused_field_hint", fields=", ".join(sorted(self.uses)) or "—"),
                )

    @property
    def name(self) -> str:
        """The name the perturbation goes by in reports (its type)."""
        return self.settings.type

    @abstractmethod
    async def perturb(self, case: Case, rng: random.Random, paraphrase: Paraphraser | None) -> Perturbed | None:
        """The perturbed case, or None when there is nothing to change in ``case``."""

    def changed(self, case: Case, variables: dict[str, Any], output_id: str | None = None) -> Perturbed | None:
        """``case`` with ``variables`` as a perturbed case (None when nothing changed); label and tags stay."""
        if variables == case.vars:
            return None
        source = f"{case.source} ({self.name})" if case.source else self.name
        perturbed = replace(case, id=f"{case.id}~{self.name}", vars=variables, source=source)
        return Perturbed(perturbed, case.id, self.name, output_id)


class TextPerturbation(Perturbation):
    """A perturbation of each text variable on its own (spacing, typos, jamo, register)."""

    @abstractmethod
    def text(self, value: str, rng: random.Random) -> str:
        """``value`` perturbed (unchanged when there is nothing to change in it)."""

    async def perturb(self, case: Case, rng: random.Random, paraphrase: Paraphraser | None) -> Perturbed | None:
        """Every text variable (or those of ``fields``) perturbed in turn, with one random source."""
        variables = dict(case.vars)
        for name in text_fields(case, self.settings.fields):
            variables[name] = self.text(str(variables[name]), rng)
        return self.changed(case, variables)
