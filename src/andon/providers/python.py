"""A plain Python function as a provider: rule checks and glue steps, sync or async."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from andon.config.graders import DOTTED_PATH
from andon.config.providers import PythonOptions, check_options
from andon.config.schema import ProviderConfig
from andon.errors import AndonError, ConfigError, ProviderError
from andon.messages import t
from andon.providers._output import parse_json_text, wants_json
from andon.providers.base import ProviderRequest, ProviderResponse


@dataclass(frozen=True, slots=True)
class Finish:
    """Return this from a rule check to end the pipeline with ``output`` as the final verdict."""

    output: Any
    reason: str | None = None


def load_function(path: str) -> Callable[..., Any]:
    """Import ``package.module:function``; a bad path or import is a ConfigError naming it."""
    if not DOTTED_PATH.match(path):
        raise ConfigError(t("house2.python.path", path=path), where=path, hint=t("house2.python.path_hint"))
    module_name, _, attr = path.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise ConfigError(
            t("house2.python.import", module=module_name, type=type(exc).__name__, error=exc),
            where=path,
            hint=t("house2.python.import_hint"),
        ) from exc
    fn = getattr(module, attr, None)
    if fn is None:
        raise ConfigError(
            t("house2.python.no_attr", module=module_name, attr=attr),
            where=path,
            hint=t("house2.python.no_attr_hint", module=module_name, attr=attr),
        )
    if not callable(fn):
        raise ConfigError(
            t("house2.python.not_fn", path=path, type=type(fn).__name__),
            where=path,
            hint=t("house2.python.not_fn_hint", attr=attr),
        )
    return fn  # type: ignore[no-any-return]


def _as_json(value: Any, path: str, provider: str) -> str:
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise ProviderError(
            t("house2.python.not_json", type=type(value).__name__, error=exc),
            provider=provider,
            where=path,
            hint=t("house2.python.not_json_hint"),
        ) from None


class PythonProvider:
    """Calls ``fn(variables)``; a str becomes text, JSON values become parsed output, Finish ends the pipeline.

    The function is named by the request's model (``package.module:function``) or ``options.function``.
    """

    Options = PythonOptions

    def __init__(self, name: str, config: ProviderConfig) -> None:
        self.name = name
        self.config = config
        self._options: PythonOptions = check_options(PythonOptions, name, config)
        self._functions: dict[str, Callable[..., Any]] = {}

    def _path(self, request: ProviderRequest) -> str:
        for candidate in (request.model, self._options.get("function"), self.config.model):
            if isinstance(candidate, str) and candidate:
                return candidate
        raise ConfigError(t("house2.python.no_fn"), where=f"providers.{self.name}", hint=t("house2.python.no_fn_hint"))

    def function(self, path: str) -> Callable[..., Any]:
        """The function at ``path``, imported once."""
        fn = self._functions.get(path)
        if fn is None:
            fn = self._functions[path] = load_function(path)
        return fn

    async def complete(self, request: ProviderRequest) -> ProviderResponse:
        """Run the function on the request's variables and map what it returns."""
        path = self._path(request)
        fn = self.function(path)
        started = time.perf_counter()
        try:
            if inspect.iscoroutinefunction(fn):
                result = await fn(request.variables)
            else:
                # A sync function may block (files, regexes on big input): keep it off the event loop.
                result = await asyncio.to_thread(fn, request.variables)
                if inspect.isawaitable(result):
                    result = await result
        except AndonError:
            raise  # the function's own user-facing error already names what to fix
        except Exception as exc:
            raise ProviderError(
                f"{type(exc).__name__}: {exc}",
                provider=self.name,
                where=path,
                hint=t("house2.python.raised_hint"),
            ) from exc
        latency_ms = (time.perf_counter() - started) * 1000
        finished = isinstance(result, Finish)
        reason: str | None = None
        if isinstance(result, Finish):
            reason = result.reason or "finished"
            result = result.output
        response = ProviderResponse(
            text="", model=path, latency_ms=latency_ms, finish_reason=reason, finished=finished, raw=result
        )
        if isinstance(result, str):
            response.text = result
            if wants_json(request.params):
                response.parsed = parse_json_text(result, provider=self.name, where=path)
        elif result is not None:
            response.text = _as_json(result, path, self.name)
            response.parsed = result
        return response

    async def aclose(self) -> None:
        """Nothing to release: imported modules stay imported."""
