"""The ``retrieve`` step's settings: which knowledge base, how many chunks, which search mode."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class RetrieveSpec(BaseModel):
    """``{retrieve: {knowledge: help-centre, k: 5, mode: hybrid}}``: chunks for the next steps' templates."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    knowledge: str = Field(min_length=1, max_length=200, description="A knowledge base (`andon knowledge add`).")
    k: int = Field(default=5, ge=1, le=100, description="How many chunks.")
    mode: Literal["bm25", "dense", "hybrid"] = Field(default="hybrid", description="Search mode.")
    query: str = Field(default="{{ input }}", description="The query (Jinja2 template over the case variables).")
