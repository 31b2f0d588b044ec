"""Perturbation types by name: the built-ins, plus plugins registered under the ``andon.perturbations`` entry point."""

from __future__ import annotations

from andon.config.robustness import PerturbationSettings
from andon.errors import AndonError, ConfigError
from andon.evals.perturb.base import Perturbation
from andon.extensions import PERTURBATIONS
from andon.messages import t
from andon.plugins import Registry

__all__ = ["BUILTINS", "REGISTRY", "build_perturbation", "known_types"]

BUILTINS: dict[str, str] = {
    "spacing": "andon.evals.perturb.noise:SpacingNoise",
    "typo": "andon.evals.perturb.noise:TypoNoise",
    "jamo": "andon.evals.perturb.noise:JamoNoise",
    "register": "andon.evals.perturb.register:RegisterChange",
    "suffix": "andon.evals.perturb.framing:Suffix",
    "leading": "andon.evals.perturb.framing:LeadingSuffix",
    "options": "andon.evals.perturb.framing:OptionOrder",
    "paraphrase": "andon.evals.perturb.paraphrase:Paraphrase",
}

REGISTRY = Registry(PERTURBATIONS.group, PERTURBATIONS.kind, BUILTINS)


def known_types() -> list[str]:
    """Every perturbation type usable in ``robustness.perturbations`` and ``--robustness``."""
    return REGISTRY.names()


def build_perturbation(settings: PerturbationSettings, *, where: str) -> Perturbation:
    """A ready perturbation for ``settings``; an unknown type or unused setting is a ConfigError naming ``where``."""
    cls = REGISTRY.load_class(settings.type, Perturbation, where=f"{where}.type")  # type: ignore[type-abstract]
    try:
        return cls(settings, where=where)
    except AndonError:
        raise
    except Exception as exc:
        raise ConfigError(
            t("evalrobust.perturb.rejected", type=settings.type, error_type=type(exc).__name__, error=exc), where=where
        ) from exc
