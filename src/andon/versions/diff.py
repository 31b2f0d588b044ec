"""What changed between two versions, field by field and line by line."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import Any

from andon.versions.canonical import Version


@dataclass(frozen=True)
class FieldChange:
    """One changed field; ``lines`` is a unified diff for text fields."""

    path: str
    before: Any
    after: Any
    lines: tuple[str, ...] = ()


def _flatten(step: dict[str, Any], prefix: str, out: dict[str, Any]) -> None:
    # Parameters are compared one by one; schemas and other structures whole, shown as a JSON diff.
    for key, value in step.items():
        if key == "params" and isinstance(value, dict):
            for param, item in value.items():
                out[f"{prefix}.params.{param}"] = item
        else:
            out[f"{prefix}.{key}"] = value


def _dump(value: Any) -> list[str]:
    return json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True).splitlines() if value is not None else []


def diff_versions(a: Version, b: Version) -> list[FieldChange]:
    """Changed fields between ``a`` and ``b``, steps matched by name, in a stable order."""
    flat_a: dict[str, Any] = {}
    flat_b: dict[str, Any] = {}
    for version, flat in ((a, flat_a), (b, flat_b)):
        for step in version.content["steps"]:
            _flatten({k: v for k, v in step.items() if k != "name"}, f"steps.{step['name']}", flat)
        flow = version.content.get("flow")
        if isinstance(flow, dict):  # a flow (issue 14): each agent field by field, then entry, limits, clarify
            for name, agent in flow.get("agents", {}).items():
                _flatten(agent, f"agents.{name}", flat)
            _flatten({k: v for k, v in flow.items() if k not in ("agents", "limits")}, "flow", flat)
            _flatten(flow.get("limits") or {}, "limits", flat)
    changes: list[FieldChange] = []
    for path in sorted(flat_a.keys() | flat_b.keys()):
        before, after = flat_a.get(path), flat_b.get(path)
        if before == after:
            continue
        lines: tuple[str, ...] = ()
        if isinstance(before, str | None) and isinstance(after, str | None) and (before or after):
            lines = tuple(
                difflib.unified_diff(
                    (before or "").splitlines(), (after or "").splitlines(), a.name, b.name, lineterm="", n=2
                )
            )
        elif isinstance(before, list | dict) or isinstance(after, list | dict):
            lines = tuple(difflib.unified_diff(_dump(before), _dump(after), a.name, b.name, lineterm="", n=2))
        changes.append(FieldChange(path, before, after, lines))
    return changes
