"""Options and arguments several command groups take in the same words (one definition, one help text)."""

from __future__ import annotations

from typing import Annotated

import typer

FeatureArg = Annotated[str, typer.Argument(help="Feature name.")]
ActorOption = Annotated[
    str | None, typer.Option("--actor", help="Who is acting (default: $USER, else git config user.name).")
]
ReasonOption = Annotated[str | None, typer.Option("--reason", help="Why (recorded).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print as JSON.")]
