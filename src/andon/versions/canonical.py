"""A version's canonical form and its content-addressed id (sha256 of canonical JSON)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from andon.config.flow import FlowLimits, FlowSpec, entry_name
from andon.config.schema import Step, VersionSpec, WorkspaceConfig
from andon.errors import ConfigError
from andon.messages import t
from andon.providers.endpoint import endpoint_identity
from andon.versions.knowledge_ids import knowledge_hash

CANONICAL_FORMAT = 1
PYTHON_PROVIDER = "python"
GUARD_PROVIDER = "guard"  # a guard step's provider in provenance: andon's own checks, not a model
RETRIEVE_PROVIDER = "retrieve"  # a retrieve step's provider in provenance: andon's own search, not a model
RULE_PROVIDERS = frozenset({PYTHON_PROVIDER, GUARD_PROVIDER, RETRIEVE_PROVIDER})
GUARD_MODULES = ("andon.engine.guard", "andon.engine.guard_rules")  # their bytes are part of a guarded version's id


@dataclass(frozen=True)
class Version:
    """An immutable version: resolved steps plus the canonical content its id is computed from."""

    feature: str
    name: str
    id: str
    steps: tuple[Step, ...]
    content: dict[str, Any]
    flow: FlowSpec | None = None  # a flow version (issue 14): its steps are the entry agent, run by agents.flow

    @property
    def short_id(self) -> str:
        """The first 12 hex digits, enough to name a version in a workspace."""
        return self.id[:12]


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no spaces, UTF-8 kept (so Korean text hashes as written)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def content_id(content: dict[str, Any]) -> str:
    """sha256 hex of the canonical JSON of ``content``."""
    return hashlib.sha256(canonical_json(content).encode("utf-8")).hexdigest()


def resolve_step(step: Step, config: WorkspaceConfig, where: str) -> Step:
    """Fill the provider and model a step leaves implicit, so the id names exactly what runs."""
    if step.python is not None:
        return step.model_copy(update={"provider": PYTHON_PROVIDER, "model": step.python})
    if step.guard is not None:
        return _resolve_guard(step, config, where)
    if step.retrieve is not None:
        return step.model_copy(update={"provider": RETRIEVE_PROVIDER, "model": step.retrieve.knowledge})
    provider, model = resolve_model(step.name, step.provider, step.model, config, where)
    return step.model_copy(update={"provider": provider, "model": model})


def resolve_model(
    name: str, provider: str | None, model: str | None, config: WorkspaceConfig, where: str
) -> tuple[str, str]:
    """The provider and model a model step (or a flow's agent) named ``name`` calls, defaults filled in."""
    if provider is None:
        model_providers = [n for n, p in config.providers.items() if p.type != PYTHON_PROVIDER]
        if len(model_providers) != 1:
            raise ConfigError(
                t("house2.version.no_provider", step=name, n=len(model_providers)),
                where=where,
                hint=t("house2.version.no_provider_hint"),
            )
        provider = model_providers[0]
    if model is None and provider not in config.providers:  # `andon check` builds ids of such a config too
        known = ", ".join(config.providers) or t("house2.none")
        raise ConfigError(t("house2.load.no_provider", provider=provider, known=known), where=where)
    model = model or config.providers[provider].model
    if model is None:
        raise ConfigError(
            t("house2.version.no_model", step=name, provider=provider),
            where=where,
            hint=t("house2.version.no_model_hint", provider=provider),
        )
    return provider, model


def _resolve_guard(step: Step, config: WorkspaceConfig, where: str) -> Step:
    """A guard step names its classifier's provider and model, so the id says which model screens."""
    assert step.guard is not None
    checks = dict(step.guard.checks)
    classifier = checks.get("classifier")
    if classifier is not None and classifier.provider is not None:
        at = f"{where}.steps.{step.name}.guard.checks.classifier"
        provider = config.providers.get(classifier.provider)
        if provider is None:
            raise ConfigError(
                t("guard.config.classifier_unknown", provider=classifier.provider),
                where=at,
                hint=t("guard.config.classifier_unknown_hint", known=", ".join(config.providers) or "-"),
            )
        model = classifier.model or provider.model
        if model is None:
            raise ConfigError(
                t("guard.config.classifier_model", provider=classifier.provider),
                where=at,
                hint=t("guard.config.classifier_model_hint"),
            )
        checks["classifier"] = classifier.model_copy(update={"model": model})
    guard = step.guard.model_copy(update={"checks": checks})
    return step.model_copy(update={"provider": GUARD_PROVIDER, "model": "builtin", "guard": guard})


def _python_source_digest(dotted: str) -> str:
    """sha256 of the module file behind ``pkg.mod:fn``, so editing a rule makes a new version."""
    module = dotted.split(":", 1)[0]
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        spec = None
    if spec is None or spec.origin is None or not Path(spec.origin).is_file():
        return "unresolved"
    return hashlib.sha256(Path(spec.origin).read_bytes()).hexdigest()


# Keys of a step's content that are derived from the workspace, not fields of the step itself.
_DERIVED_KEYS = ("python_source_sha256", "endpoint", "guard_rules_sha256", "knowledge_sha256")


def step_content(step: Step, config: WorkspaceConfig | None = None) -> dict[str, Any]:
    """The hashed form of one resolved step: defaults left out, so adding a new optional field later keeps ids.

    The provider's endpoint (base URL, answer-shaping options) is included when it is not the default, so
    pointing a provider at another server makes another version.
    """
    data = step.model_dump(mode="json", exclude_defaults=True)
    data["name"] = step.name
    if step.python is not None:
        data["python_source_sha256"] = _python_source_digest(step.python)
    elif step.guard is not None:
        digests = "".join(_python_source_digest(f"{module}:_") for module in GUARD_MODULES)
        data["guard_rules_sha256"] = hashlib.sha256(digests.encode("ascii")).hexdigest()
    elif step.retrieve is not None:
        data["knowledge_sha256"] = knowledge_hash(step.retrieve.knowledge)  # documents + chunker
    elif config is not None and step.provider in config.providers:
        endpoint = endpoint_identity(config.providers[step.provider])
        if endpoint:
            data["endpoint"] = endpoint
    return data


def build_version(feature: str, name: str, spec: VersionSpec, config: WorkspaceConfig) -> Version:
    """Resolve ``spec`` against the workspace and compute its id."""
    where = f"features.{feature}.versions.{name}"
    steps = tuple(resolve_step(s, config, where) for s in spec.normalized_steps())
    content: dict[str, Any] = {"format": CANONICAL_FORMAT, "steps": [step_content(s, config) for s in steps]}
    flow = _resolve_flow(spec, config, where) if spec.agents is not None else None
    if flow is not None:
        content["flow"] = flow_content(flow, config)
    return Version(feature=feature, name=name, id=content_id(content), steps=steps, content=content, flow=flow)


def _resolve_flow(spec: VersionSpec, config: WorkspaceConfig, where: str) -> FlowSpec:
    """A flow with every agent's provider and model, and the budget's currency, filled in (they are in its id)."""
    assert spec.agents is not None
    entry = entry_name(spec.agents, spec.entry)
    known = ", ".join(spec.agents)
    if entry not in spec.agents:
        raise ConfigError(t("flow.config.entry", name=entry, known=known), where=f"{where}.entry")
    agents = {}
    for agent_name, agent in spec.agents.items():
        for handoff in agent.handoffs:
            if handoff.agent not in spec.agents or handoff.agent == agent_name:
                message = t("flow.config.handoff", agent=agent_name, target=handoff.agent, known=known)
                raise ConfigError(message, where=f"{where}.agents.{agent_name}.handoffs")
        at = f"{where}.agents.{agent_name}"
        provider, model = resolve_model(agent_name, agent.provider, agent.model, config, at)
        agents[agent_name] = agent.model_copy(update={"provider": provider, "model": model})
    limits = spec.limits or FlowLimits()
    if limits.budget is not None and limits.currency is None:
        limits = limits.model_copy(update={"currency": config.currency})
    return FlowSpec(entry=entry, agents=agents, limits=limits, clarify=spec.clarify)


def flow_content(flow: FlowSpec, config: WorkspaceConfig | None = None) -> dict[str, Any]:
    """The hashed form of a flow: every agent's content (and endpoint), the entry, limits in full, clarify."""
    agents: dict[str, Any] = {}
    for name, agent in flow.agents.items():
        data = agent.model_dump(mode="json", exclude_defaults=True)
        if config is not None and agent.provider in config.providers:
            endpoint = endpoint_identity(config.providers[agent.provider])
            if endpoint:
                data["endpoint"] = endpoint
        agents[name] = data
    limits = flow.limits.model_dump(mode="json")  # in full: a changed default must not change a stored flow
    return {"entry": flow.entry, "agents": agents, "limits": limits, "clarify": flow.clarify}


def one_step_version(feature: str, name: str, step: Step, config: WorkspaceConfig) -> Version:
    """A version of one step that andon.yaml does not declare: a judge, or a raw model call."""
    return build_version(feature, name, VersionSpec(steps=[step]), config)


def version_from_content(feature: str, name: str, content: dict[str, Any]) -> Version:
    """Rebuild a stored version from its canonical content (the id is recomputed, never trusted)."""
    steps = tuple(Step.model_validate({k: v for k, v in s.items() if k not in _DERIVED_KEYS}) for s in content["steps"])
    flow = None
    if isinstance(content.get("flow"), dict):
        stored = content["flow"]
        agents = {n: {k: v for k, v in a.items() if k not in _DERIVED_KEYS} for n, a in stored["agents"].items()}
        flow = FlowSpec.model_validate({**stored, "agents": agents})
    return Version(feature=feature, name=name, id=content_id(content), steps=steps, content=content, flow=flow)
