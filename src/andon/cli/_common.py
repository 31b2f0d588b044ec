"""What every command shares: consoles, global options, opening the workspace, JSON output."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console

from andon.workspace import Workspace

T = TypeVar("T")

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


@dataclass
class Options:
    """Global options set by the top-level callback."""

    workspace: Path | None = None


options = Options()


def open_workspace() -> Workspace:
    """The workspace named by --workspace, ANDON_WORKSPACE, or found from the current folder."""
    return Workspace.open(options.workspace)


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine from a command."""
    return asyncio.run(coro)


def print_json(value: Any) -> None:
    """Machine-readable output on stdout: one JSON document, UTF-8, no colour."""
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2, default=str) + "\n")
