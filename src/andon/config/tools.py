"""Tool definitions of a version step (issue 14): JSON Schema arguments, a Python function or an HTTP endpoint."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from andon.config.graders import DOTTED_PATH
from andon.messages import t

TOOL_NAME_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"  # what OpenAI's and Anthropic's tool APIs accept


class ToolSpec(BaseModel):
    """One tool the model may call; exactly one of ``python`` or ``http`` implements it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=TOOL_NAME_PATTERN)
    description: str = ""
    parameters: dict[str, Any] = Field(
        default_factory=lambda: {"type": "object", "properties": {}},
        description="JSON Schema of the arguments; a call is checked against it before the tool runs.",
    )
    python: str | None = Field(default=None, description="`package.module:function` called with the arguments.")
    http: str | None = Field(default=None, description="An http(s) URL the arguments are POSTed to as JSON.")
    timeout_s: float = Field(default=10.0, gt=0, le=600)
    max_result_chars: int = Field(default=16_000, ge=1, le=1_000_000)
    approval: Literal["none", "human"] = Field(
        default="none", description="`human`: a call parks the run in the review queue until a person decides it."
    )

    @model_validator(mode="after")
    def _one_implementation(self) -> ToolSpec:
        if (self.python is None) == (self.http is None):
            raise ValueError(t("agents.tools.one_impl", name=self.name))
        if self.python is not None and not DOTTED_PATH.match(self.python):
            raise ValueError(t("house2.schema.dotted"))
        if self.http is not None and not self.http.startswith(("http://", "https://")):
            raise ValueError(t("house2.schema.http_url"))
        if self.parameters.get("type", "object") != "object":
            raise ValueError(t("agents.tools.object_schema", name=self.name))
        return self


def check_tools(tools: list[ToolSpec]) -> list[ToolSpec]:
    """Tool names must be unique within a step (the model calls them by name)."""
    names = [tool.name for tool in tools]
    if len(set(names)) != len(names):
        raise ValueError(t("agents.tools.names", names=names))
    return tools
