"""Versions derived from another one (a revised prompt), and the andon.yaml snippet that declares them."""

from __future__ import annotations

import io
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.scalarstring import LiteralScalarString

from andon.config.schema import Step, WorkspaceConfig
from andon.versions.canonical import CANONICAL_FORMAT, Version, content_id, step_content

__all__ = ["derive_version", "derived_name", "model_step", "version_yaml"]

_MAX_NAME = 63  # NAME_PATTERN's length


def model_step(version: Version) -> Step | None:
    """The step a prompt revision changes: the last model (non-``python``) step, or None for rules only."""
    return next((s for s in reversed(version.steps) if s.python is None), None)


def derived_name(base: str, version_id: str, kind: str = "improved") -> str:
    """A name for a derived version, e.g. ``v2-improved-3fa2c1`` (fits andon's version names)."""
    tail = f"-{kind}-{version_id[:6]}"
    return base[: _MAX_NAME - len(tail)] + tail


def derive_version(
    base: Version, config: WorkspaceConfig, *, step: str, system: str | None, prompt: str, kind: str = "improved"
) -> Version:
    """``base`` with step ``step``'s system instructions and prompt replaced; its id computed like any other."""
    steps = tuple(
        s.model_copy(update={"system": system or None, "prompt": prompt}) if s.name == step else s for s in base.steps
    )
    content = {"format": CANONICAL_FORMAT, "steps": [step_content(s, config) for s in steps]}
    version_id = content_id(content)
    return Version(base.feature, derived_name(base.name, version_id, kind), version_id, steps, content)


def _literal(value: Any) -> Any:
    """Multi-line strings as YAML block scalars, so a pasted prompt reads as written."""
    if isinstance(value, str) and "\n" in value:
        return LiteralScalarString(value)
    if isinstance(value, dict):
        return {k: _literal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_literal(v) for v in value]
    return value


def version_yaml(version: Version) -> str:
    """The ``features: … versions:`` snippet declaring ``version`` in andon.yaml (it builds to the same id)."""
    steps = [s.model_dump(mode="json", exclude_defaults=True) for s in version.steps]
    for data, step in zip(steps, version.steps, strict=True):
        data["name"] = step.name
    if len(steps) == 1 and steps[0]["name"] == "main":
        spec: dict[str, Any] = {k: v for k, v in steps[0].items() if k != "name"}
    else:
        spec = {"steps": steps}
    yaml = YAML()
    yaml.width = 1 << 16
    yaml.indent(mapping=2, sequence=4, offset=2)
    out = io.StringIO()
    yaml.dump({"features": {version.feature: {"versions": {version.name: _literal(spec)}}}}, out)
    return out.getvalue()
