"""A workspace: andon.yaml plus its store and providers, composed once for the CLI, runner and gateway."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

from andon.config.loader import CONFIG_FILE, LoadedConfig, find_config, load_config
from andon.config.schema import FeatureConfig, ProviderConfig, Step, WorkspaceConfig
from andon.engine.pipeline import Outcome, run_version
from andon.errors import NotFoundError, WorkspaceError
from andon.messages import t
from andon.providers.base import Provider
from andon.providers.pricing import PriceTable
from andon.providers.registry import build_provider
from andon.starter import write_starter
from andon.store import Store
from andon.store.records import OutputRecord, VersionRecord
from andon.versions.canonical import PYTHON_PROVIDER, Version, build_version, one_step_version, version_from_content
from andon.versions.knowledge_ids import set_knowledge_resolver

STATE_DIR = ".andon"


class StoreResponseCache:
    """The response cache kept in the store (calls run in a worker thread so the event loop stays free)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    async def get(self, key: str) -> dict[str, Any] | None:
        """The cached reply for ``key``, or None."""
        return await asyncio.to_thread(self._store.cache_get, key)

    async def put(self, key: str, value: dict[str, Any]) -> None:
        """Keep a successful reply."""
        await asyncio.to_thread(self._store.cache_put, key, value)


class Workspace:
    """An open workspace. Use ``Workspace.open()`` and close it (or use ``with``)."""

    def __init__(self, loaded: LoadedConfig, store: Store) -> None:
        self.loaded = loaded
        self.store = store
        self.cache = StoreResponseCache(store)
        self._providers: dict[str, Provider] = {}
        self._prices = PriceTable(list(loaded.config.prices))

    @classmethod
    def open(cls, path: Path | None = None, *, database_url: str | None = None) -> Workspace:
        """Find andon.yaml from ``path`` upwards, validate it and open (and migrate) its store."""
        loaded = load_config(find_config(path))
        root = str(loaded.workspace)
        if root not in sys.path:
            # Rule checks (`python:` steps) live in the workspace, like tests beside a project.
            sys.path.insert(0, root)
        store = Store.open(database_url, workspace=loaded.workspace)
        set_knowledge_resolver(store.knowledge_hash)  # a retrieve step's version id names the base's content
        return cls(loaded, store)

    @property
    def config(self) -> WorkspaceConfig:
        """The validated andon.yaml."""
        return self.loaded.config

    @property
    def root(self) -> Path:
        """The folder holding andon.yaml."""
        return self.loaded.workspace

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object | TracebackType | None) -> None:
        self.close()

    def close(self) -> None:
        """Close providers and the store."""
        if self._providers:
            asyncio.run(self.aclose_providers())
        self.store.close()

    async def aclose_providers(self) -> None:
        """Release provider connections and models."""
        providers, self._providers = self._providers, {}
        for provider in providers.values():
            await provider.aclose()

    # Versions -------------------------------------------------------------------------------------------

    def feature_names(self) -> list[str]:
        """Features declared in andon.yaml."""
        return list(self.config.features)

    def feature(self, feature: str) -> FeatureConfig:
        """The feature's typed config; an unknown name is a NotFoundError listing the known ones."""
        try:
            return self.config.features[feature]
        except KeyError:
            known = ", ".join(self.config.features) or "none"
            raise NotFoundError(
                t("polish.notfound.feature", feature=feature), hint=t("polish.known_features", known=known)
            ) from None

    def declared_versions(self, feature: str) -> list[Version]:
        """The versions andon.yaml declares now (built, not stored: :meth:`sync_versions` stores them)."""
        return [
            build_version(feature, name, spec, self.config) for name, spec in self.feature(feature).versions.items()
        ]

    def sync_versions(self, feature: str) -> list[Version]:
        """The declared versions, registered in the store (content-addressed, so idempotent).

        Called where a version id must be found in the store later: a run, a promotion, a served call.
        """
        declared = self.declared_versions(feature)
        for version in declared:
            self.store.register_version(feature, version.name, version.id, version.content)
        return declared

    def one_step_version(self, feature: str, name: str, step: Step) -> Version:
        """A version of one step that andon.yaml does not declare: a judge, or a raw model call."""
        return one_step_version(feature, name, step, self.config)

    def version(self, feature: str, ref: str | None = None) -> Version:
        """A version by name in andon.yaml, or by name, id or id prefix from the store's history.

        With no ``ref``, the last version declared in andon.yaml: never what is live (``andon.deploy.live_version``).
        Nothing is written to the store.
        """
        declared = self.declared_versions(feature)
        if not declared:
            raise NotFoundError(
                t("house2.ws.no_versions", feature=feature), hint=t("house2.ws.no_versions_hint", feature=feature)
            )
        if ref is None:
            return declared[-1]
        for version in declared:
            if version.name == ref or version.id == ref:
                return version
        record = self.store.get_version(feature, ref)
        return version_from_content(feature, record.name, record.content)

    def version_history(self, feature: str) -> list[VersionRecord]:
        """Every version ever registered for ``feature``, oldest first (the declared ones registered now)."""
        self.sync_versions(feature)
        return self.store.list_versions(feature)

    # Providers ------------------------------------------------------------------------------------------

    def provider(self, name: str) -> Provider:
        """The shared, resilient provider named ``name`` (built on first use)."""
        if name not in self._providers:
            if name == PYTHON_PROVIDER and name not in self.config.providers:
                config = ProviderConfig(type=PYTHON_PROVIDER)
            else:
                try:
                    config = self.config.providers[name]
                except KeyError:
                    raise NotFoundError(t("house2.ws.no_provider", name=name)) from None
            self._providers[name] = build_provider(name, config)
        return self._providers[name]

    def price(self, provider: str, model: str, input_tokens: int, output_tokens: int) -> tuple[float, str] | None:
        """Cost and currency of a call from the price table."""
        return self._prices.cost(provider, model, input_tokens, output_tokens)

    # Calls ----------------------------------------------------------------------------------------------

    async def invoke(
        self,
        feature: str,
        variables: Mapping[str, Any],
        *,
        version: str,
        repeat: int = 0,
        use_cache: bool = True,
        context: dict[str, Any] | None = None,
    ) -> tuple[Outcome, OutputRecord]:
        """Run the named version once, store the output with its provenance, and return both.

        The version is always named: which one is live is ``andon.deploy.live_version``'s answer, not a default.
        """
        await asyncio.to_thread(self.sync_versions, feature)
        resolved = self.version(feature, version)
        outcome = await run_version(
            resolved, variables, self, cache=self.cache if use_cache else None, repeat=repeat, base_dir=self.root
        )
        record = outcome.to_record(context=context)
        await asyncio.to_thread(self.store.save_output, record)
        return outcome, record


def init_workspace(path: Path, *, name: str, force: bool = False) -> Path:
    """Write the starter (andon.yaml, a rule check, cases) and .andon/; refuse to overwrite unless ``force``."""
    target = path / CONFIG_FILE
    if target.exists() and not force:
        raise WorkspaceError(t("init.exists", path=target))
    path.mkdir(parents=True, exist_ok=True)
    (path / STATE_DIR).mkdir(exist_ok=True)
    return write_starter(path, name, force=force)
