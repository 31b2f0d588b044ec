"""Sampling and output parameters of a model call (shared by version steps and a flow's agents)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Params(BaseModel):
    """Sampling and output parameters sent to the model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    max_tokens: int | None = Field(default=None, ge=1, le=1_000_000)
    seed: int | None = None
    stop: list[str] | None = None
    json_mode: bool = Field(default=False, description="Ask for a JSON object (no schema).")
    json_schema: dict[str, Any] | None = Field(
        default=None, description="Constrain the output to this JSON Schema (implies JSON output)."
    )
    logprobs: bool = Field(default=False, description="Record each output token's log-probability (provenance).")
    # The caller's own tools (OpenAI's chat route, issue 14): offered to the model, never run by andon; the calls the
    # model asks for come back as the output, ``{"tool_calls": [...]}``. A step's ``tools:`` are the ones andon runs.
    client_tools: list[dict[str, Any]] | None = Field(
        default=None, description="OpenAI-shaped tool definitions the caller runs itself (offered, never run)."
    )
    tool_choice: str | dict[str, Any] | None = Field(default=None, description="auto, none, required or one function.")
    parallel_tool_calls: bool | None = None
