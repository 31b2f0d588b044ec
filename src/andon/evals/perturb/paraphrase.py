"""``paraphrase``: the longest text rewritten by a configured model, the call stored with its provenance."""

from __future__ import annotations

import random
from typing import ClassVar

from andon.config.robustness import PerturbationSettings
from andon.errors import ConfigError
from andon.evals.model import Case
from andon.evals.perturb.base import Paraphraser, Perturbation, Perturbed, longest_text
from andon.messages import t

__all__ = ["PARAPHRASE_SYSTEM", "Paraphrase"]

PARAPHRASE_SYSTEM = (
    "Rewrite the user's text so that it means exactly the same but uses different words and sentence order. "
    "Keep its language, every fact, number, name, phone number and link. Answer with the rewritten text only."
)


class Paraphrase(Perturbation):
    """Asks ``provider`` (and ``model``) for a paraphrase; offline runs without a provider leave it out."""

    uses: ClassVar[frozenset[str]] = frozenset({"fields", "provider", "model"})

    def __init__(self, settings: PerturbationSettings, *, where: str) -> None:
        super().__init__(settings, where=where)
        if not settings.provider:
            raise ConfigError(
                t("evalrobust.perturb.paraphrase_provider"), where=f"{where}.provider",
                hint=t("evalrobust.perturb.paraphrase_provider_hint"),
            )  # fmt: skip
        self.provider = settings.provider

    async def perturb(self, case: Case, rng: random.Random, paraphrase: Paraphraser | None) -> Perturbed | None:
        """The case with its longest text paraphrased (None when the model gave it back unchanged)."""
        name = longest_text(case, self.settings.fields)
        if name is None or paraphrase is None:
            return None
        text, output_id = await paraphrase(self.provider, self.settings.model, str(case.vars[name]), case.id)
        if not text.strip():
            return None
        return self.changed(case, {**case.vars, name: text.strip()}, output_id)
