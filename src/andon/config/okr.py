"""The ``okr:`` section of andon.yaml: where reminders and review digests go, and the digest's optional summary."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class OkrRemindConfig(_Section):
    """Check-in reminders (``andon okr remind``)."""

    days: int = Field(default=7, ge=1, le=366, description="Remind the owner after this many days without a check-in.")


class OkrDigestConfig(_Section):
    """The weekly review digest (``andon okr digest``)."""

    summary_feature: str | None = Field(
        default=None, description="A feature whose model writes a short summary of each digest (citable by output id)."
    )
    summary_version: str | None = Field(
        default=None, description="The version of that feature to use; default: its live version."
    )


class OkrConfig(_Section):
    """Objectives and key results."""

    notifiers: list[str] | None = Field(
        default=None, description="Names under `notifiers:` that get reminders and digests; default: all of them."
    )
    remind: OkrRemindConfig = Field(default_factory=OkrRemindConfig)
    digest: OkrDigestConfig = Field(default_factory=OkrDigestConfig)
