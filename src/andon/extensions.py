"""Every extension point of andon, in one list: its entry-point group, interface, settings model and registry.

A package adds a provider, grader, detector … without forking andon by naming its object in the point's
entry-point group, e.g. in its own ``pyproject.toml``::

    [project.entry-points."andon.providers"]
    my-llm = "my_package.llm:MyProvider"

and the name (``my-llm``) is then usable as ``type:`` in andon.yaml. Built-in names cannot be taken over
(:class:`andon.plugins.Registry`). Targets are written ``module:attr`` so this floor-1 module imports nothing
above it; ``tests/test_extensions.py`` resolves each one and checks every registry against this list.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Status = Literal["ready", "pending", "planned"]  # on main | built on a branch, completed at merge | not built yet


@dataclass(frozen=True, slots=True)
class ExtensionPoint:
    """One extension point; ``kind`` names it in messages, the targets are ``module:attr`` (None: not built yet)."""

    kind: str
    group: str
    summary: str
    interface: str | None = None
    settings: str | None = None
    registry: str | None = None
    status: Status = "ready"


PROVIDERS = ExtensionPoint(
    "provider",
    "andon.providers",
    "answers a call: rendered messages in, a reply with usage and timing out (one async protocol)",
    interface="andon.providers.base:Provider",
    settings="andon.config.providers:ProviderConfig",
    registry="andon.config.providers:REGISTRY",
)
GRADERS = ExtensionPoint(
    "grader",
    "andon.graders",
    "turns one output into a score and a pass",
    interface="andon.evals.graders.base:Grader",
    settings="andon.config.graders:GraderSettings",
    registry="andon.config.graders:REGISTRY",
)
DETECTORS = ExtensionPoint(
    "detector",
    "andon.detectors",
    "watches one metric: update(ts, value) -> Verdict",
    interface="andon.watch.detectors.base:Detector",
    settings="andon.watch.detectors.base:DetectorSettings",
    registry="andon.watch.detectors.base:REGISTRY",
)
NOTIFIERS = ExtensionPoint(
    "notifier",
    "andon.notifiers",
    "announces an incident's stage somewhere: await send(notification)",
    interface="andon.watch.notify.base:Notifier",
    settings="andon.config.schema:NotifierConfig",
    registry="andon.watch.notify.registry:REGISTRY",
)
CHUNKERS = ExtensionPoint(
    "chunker",
    "andon.chunkers",
    "splits an ingested document's Markdown into character spans for indexing",
    interface="andon.knowledge.chunkers.base:Chunker",
    settings="andon.knowledge.chunkers.base:ChunkerSettings",
    registry="andon.knowledge.chunkers:CHUNKERS",
)
WORK_IMPORTERS = ExtensionPoint(
    "work-item importer",
    "andon.work_importers",
    "reads tickets from Jira, GitHub, CSV …: await fetch(cursor) -> ImportBatch of work items",
    interface="andon.okr.work.base:WorkImporter",
    settings="andon.okr.work.base:ImporterSettings",
    registry="andon.okr.work.registry:REGISTRY",
)
KR_BINDINGS = ExtensionPoint(
    "key-result binding",
    "andon.kr_bindings",
    "feeds a key result a number: read(context) -> Reading (andon metric, read-only SQL, linked work …)",
    interface="andon.okr.bindings.base:Binding",
    settings="andon.okr.bindings.base:BindingSettings",
    registry="andon.okr.bindings.base:REGISTRY",
)
PERTURBATIONS = ExtensionPoint(
    "perturbation",
    "andon.perturbations",
    "changes a case in a way that should not change its answer: await perturb(case, rng, paraphrase)",
    interface="andon.evals.perturb.base:Perturbation",
    settings="andon.config.robustness:PerturbationSettings",
    registry="andon.evals.perturb.registry:REGISTRY",
)
TOOLS = ExtensionPoint("tool", "andon.tools", "a function an agent may call", status="planned")
STEP_KINDS = ExtensionPoint(
    "step kind",
    "andon.step_kinds",
    "a step run by a package above the engine (retrieve): await run(step, scope, providers) -> StepRecord; "
    "the built-in `flow` runs a whole flow version (issue 14)",
    interface="andon.engine.steps:StepRunner",
    settings="andon.config.schema:Step",
    registry="andon.engine.steps:STEP_KINDS",
)
EXECUTORS = ExtensionPoint(
    "executor",
    "andon.executors",
    "runs an evaluation's cells somewhere (here, a Ray cluster): start(job), await run(version, case, repeat) "
    "-> (records, cell), close(); the runner stays the single writer",
    interface="andon.evals.executors.base:Executor",
    settings="andon.evals.executors.base:ExecutorSettings",
    registry="andon.evals.executors.registry:REGISTRY",
)

EXTENSION_POINTS: tuple[ExtensionPoint, ...] = (
    PROVIDERS, GRADERS, DETECTORS, NOTIFIERS, CHUNKERS, WORK_IMPORTERS, KR_BINDINGS, PERTURBATIONS, TOOLS, STEP_KINDS,
    EXECUTORS,
)  # fmt: skip
