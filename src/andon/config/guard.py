"""The ``guard:`` step of a version (issue 15): safety checks before or after the model, and what they do."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from andon.config.redactions import KINDS
from andon.messages import t

GUARD_CHECKS = ("crisis", "injection", "pii", "classifier")
GUARD_ACTIONS = ("route", "block", "flag")  # strongest first: a person at risk goes to a person
GuardAction = Literal["block", "route", "flag"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GuardCheck(_Strict):
    """One check of a guard and its action; ``kinds`` for pii, ``provider``/``model`` for the classifier."""

    action: GuardAction = Field(
        default="flag", description="block (a safe answer instead), route (a human answers now) or flag (record)."
    )
    kinds: list[str] | None = Field(default=None, description="pii: which of the redaction kinds (default: all).")
    provider: str | None = Field(default=None, description="classifier: a name under `providers:`.")
    model: str | None = Field(default=None, description="classifier: the model (default: the provider's).")
    instructions: str | None = Field(
        default=None,
        description="classifier: system instructions; the reply's first word is crisis, injection or safe.",
    )

    @field_validator("kinds")
    @classmethod
    def _known_kinds(cls, values: list[str] | None) -> list[str] | None:

        unknown = sorted(set(values or ()) - set(KINDS))
        if unknown:
            raise ValueError(t("guard.config.kinds", unknown=", ".join(unknown), known=", ".join(KINDS)))
        return values


class GuardSpec(_Strict):
    """Checks run on the input (before the model) or on the output of the step before (after it)."""

    on: Literal["input", "output"] = Field(
        default="input", description="input: the call's variables (user or retrieved text); output: the answer so far."
    )
    fields: list[str] | None = Field(default=None, description="input: the variables read (default: all text).")
    checks: dict[str, GuardCheck] = Field(
        description=f"Checks by name ({', '.join(GUARD_CHECKS)}), each an action or its settings, e.g. crisis: route."
    )
    answer: dict[str, str] = Field(
        default_factory=dict,
        description="The safe answer of a block per language (en, ko …); default: andon's (crisis lines for crisis).",
    )
    notify: list[str] | None = Field(
        default=None, description="route: the notifiers (under `notifiers:`) told at once; default: all of them."
    )
    priority: int = Field(default=100, ge=0, le=1000, description="route: the item's priority in the review queue.")

    @field_validator("checks", mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        unknown = sorted(str(k) for k in value if k not in GUARD_CHECKS)
        if unknown:
            raise ValueError(t("guard.config.check", unknown=", ".join(unknown), known=", ".join(GUARD_CHECKS)))
        return {k: {"action": v} if isinstance(v, str) else v for k, v in value.items()}

    # A field validator, not the model's: its errors point at the line of `checks:` itself.
    @field_validator("checks")
    @classmethod
    def _fit(cls, checks: dict[str, GuardCheck]) -> dict[str, GuardCheck]:
        if not checks:
            raise ValueError(t("guard.config.no_checks", known=", ".join(GUARD_CHECKS)))
        for name, check in checks.items():
            if name == "classifier" and check.provider is None:
                raise ValueError(t("guard.config.classifier_provider"))
            if name != "classifier" and (check.provider or check.model or check.instructions):
                raise ValueError(t("guard.config.classifier_only", check=name))
            if name != "pii" and check.kinds is not None:
                raise ValueError(t("guard.config.pii_only", check=name))
        return checks

    @model_validator(mode="after")
    def _consistent(self) -> GuardSpec:
        if self.on == "output" and self.fields is not None:
            raise ValueError(t("guard.config.fields_output"))
        return self


def strongest(actions: list[str]) -> str | None:
    """The strongest of ``actions`` (route > block > flag), or None when there is none."""
    for action in GUARD_ACTIONS:
        if action in actions:
            return action
    return None


__all__ = ["GUARD_ACTIONS", "GUARD_CHECKS", "GuardAction", "GuardCheck", "GuardSpec", "strongest"]
