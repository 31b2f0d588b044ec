"""Perturbations: changes to a case that should not change its answer (spacing, typos, jamo, register, framing …)."""

from andon.evals.perturb.base import Paraphraser, Perturbation, Perturbed, TextPerturbation
from andon.evals.perturb.registry import REGISTRY, build_perturbation, known_types
from andon.evals.perturb.suite import build_suite, perturb_cases

__all__ = [
    "REGISTRY",
    "Paraphraser",
    "Perturbation",
    "Perturbed",
    "TextPerturbation",
    "build_perturbation",
    "build_suite",
    "known_types",
    "perturb_cases",
]
