"""``robustness:`` of a feature in andon.yaml: which perturbations ``andon eval`` runs as paired cases, and how."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["PerturbationSettings", "RobustnessConfig"]


class PerturbationSettings(BaseModel):
    """One perturbation; each type reads only the fields it declares (andon.evals.perturb lists them)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str = Field(description="spacing, typo, jamo, register, suffix, leading, paraphrase, options, or a plugin.")
    fields: list[str] | None = Field(default=None, description="Only these case variables (default: every text one).")
    rate: float | None = Field(default=None, gt=0, le=1, description="Share of places changed (noise types).")
    texts: list[str] | None = Field(default=None, description="Suffixes to append (suffix, leading).")
    to: Literal["auto", "polite", "casual"] | None = Field(default=None, description="Register to write (register).")
    provider: str | None = Field(default=None, description="The provider that paraphrases (paraphrase).")
    model: str | None = Field(default=None, description="Its model (paraphrase).")
    options: dict[str, Any] = Field(default_factory=dict, description="A plugin's own settings.")


class RobustnessConfig(BaseModel):
    """Perturbation suites generated from the feature's dataset; each perturbed case is paired with its original."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    perturbations: list[PerturbationSettings] = Field(
        default_factory=list, description="Each a type name, or a mapping with `type` and its settings."
    )
    seed: int = Field(default=0, description="The same seed makes the same perturbed cases.")

    @field_validator("perturbations", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        # `perturbations: [spacing, typo]` is the short form of `[{type: spacing}, {type: typo}]`.
        if isinstance(value, list):
            return [{"type": v} if isinstance(v, str) else v for v in value]
        return value
