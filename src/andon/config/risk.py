"""A feature's risk tier and the checklist its reasons come from (issue 15: the dossier).

The checklist follows the high-impact areas of Korea's AI Basic Act (art. 2 no. 4), its transparency duty
for generative AI (art. 31), and the EU AI Act's tiers (high-risk: art. 6 and Annex III; transparency:
art. 50). Each item implies the lowest tier a feature ticking it may declare; the wording of each item, in
English and Korean, is andon's own and lives in the message catalogue (``risk.reason.<id>``).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from andon.messages import t

Tier = Literal["minimal", "limited", "high-impact"]
TIERS: tuple[Tier, ...] = ("minimal", "limited", "high-impact")


@dataclass(frozen=True, slots=True)
class ChecklistItem:
    """One reason a feature may give for its tier: its id, the tier it implies at least, and the law it follows."""

    id: str
    tier: Tier
    basis: str  # the provisions it follows, cited (not quoted)

    def text(self, language: str | None = None) -> str:
        """The item's wording in ``language`` (default: the current one)."""
        return t(f"risk.reason.{self.id}", language=language)


_KR_HIGH = "KR AI Basic Act art. 2(4)"
_KR_NOTICE = "KR AI Basic Act art. 31"
CHECKLIST: tuple[ChecklistItem, ...] = (
    # High-impact areas: a mistake can harm life, safety or basic rights.
    ChecklistItem("energy", "high-impact", f"{_KR_HIGH}; EU AI Act Annex III(2)"),
    ChecklistItem("drinking-water", "high-impact", f"{_KR_HIGH}; EU AI Act Annex III(2)"),
    ChecklistItem("health-care", "high-impact", f"{_KR_HIGH}; EU AI Act Annex III(5)"),
    ChecklistItem("medical-devices", "high-impact", f"{_KR_HIGH}; EU AI Act art. 6(1)"),
    ChecklistItem("nuclear", "high-impact", f"{_KR_HIGH}; EU AI Act Annex III(2)"),
    ChecklistItem("biometric-investigation", "high-impact", f"{_KR_HIGH}; EU AI Act Annex III(1), III(6)"),
    ChecklistItem("hiring", "high-impact", f"{_KR_HIGH}; EU AI Act Annex III(4)"),
    ChecklistItem("credit", "high-impact", f"{_KR_HIGH}; EU AI Act Annex III(5)"),
    ChecklistItem("transport", "high-impact", f"{_KR_HIGH}; EU AI Act Annex III(2)"),
    ChecklistItem("public-decisions", "high-impact", f"{_KR_HIGH}; EU AI Act Annex III(5)"),
    ChecklistItem("student-assessment", "high-impact", f"{_KR_HIGH}; EU AI Act Annex III(3)"),
    ChecklistItem("essential-services", "high-impact", "EU AI Act Annex III(5)"),
    ChecklistItem("justice-migration", "high-impact", "EU AI Act Annex III(7), III(8)"),
    # Limited: people must be told they deal with AI, or that content was made by it.
    ChecklistItem("talks-with-people", "limited", f"{_KR_NOTICE}; EU AI Act art. 50(1)"),
    ChecklistItem("generated-content", "limited", f"{_KR_NOTICE}; EU AI Act art. 50(2)"),
    ChecklistItem("deepfake", "limited", f"{_KR_NOTICE}; EU AI Act art. 50(4)"),
    ChecklistItem("emotion-or-biometric-categories", "limited", "EU AI Act art. 50(3)"),
    ChecklistItem("decisions-about-people", "limited", "andon checklist (good practice)"),
    # Minimal: why the feature needs no more than good practice.
    ChecklistItem("staff-only", "minimal", "EU AI Act art. 95 (voluntary codes)"),
    ChecklistItem("no-people-affected", "minimal", "EU AI Act art. 95 (voluntary codes)"),
)
BY_ID: dict[str, ChecklistItem] = {item.id: item for item in CHECKLIST}


def tier_rank(tier: Tier) -> int:
    """0 for minimal, 1 for limited, 2 for high-impact."""
    return TIERS.index(tier)


def _known_reason(value: str) -> str:
    if value not in BY_ID:
        close = difflib.get_close_matches(value, list(BY_ID), n=1)
        if close:
            raise ValueError(t("risk.config.unknown_reason_close", reason=value, close=close[0]))
        raise ValueError(t("risk.config.unknown_reason", reason=value, known=", ".join(BY_ID)))
    return value


Reason = Annotated[str, AfterValidator(_known_reason)]


class RiskConfig(BaseModel):
    """``risk:`` of a feature: its tier and the checklist reasons for it (``andon dossier`` shows both)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    tier: Tier = Field(description="minimal, limited or high-impact.")
    reasons: list[Reason] = Field(
        default_factory=list,
        validate_default=True,  # a tier above minimal without reasons is an error too
        description="Checklist ids (see `andon dossier --checklist`), e.g. talks-with-people.",
    )

    @field_validator("reasons")
    @classmethod
    def _fit_tier(cls, reasons: list[str], info: ValidationInfo) -> list[str]:
        tier = info.data.get("tier")
        if tier is None:
            return reasons  # the tier's own error is reported
        if len(set(reasons)) != len(reasons):
            raise ValueError(t("risk.config.repeated"))
        if tier != "minimal" and not reasons:
            raise ValueError(t("risk.config.needs_reason", tier=tier))
        above = [r for r in reasons if tier_rank(BY_ID[r].tier) > tier_rank(tier)]
        if above:
            implied = max((BY_ID[r].tier for r in above), key=tier_rank)
            raise ValueError(t("risk.config.tier_too_low", tier=tier, reasons=", ".join(above), implied=implied))
        return reasons

    def items(self) -> list[ChecklistItem]:
        """The reasons as checklist items, in the order given."""
        return [BY_ID[r] for r in self.reasons]


__all__ = ["BY_ID", "CHECKLIST", "TIERS", "ChecklistItem", "Reason", "RiskConfig", "Tier", "tier_rank"]
