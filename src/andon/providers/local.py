"""The embedded model: a GGUF file run in-process by llama-cpp-python, one call at a time per loaded model."""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from andon.config.providers import LocalOptions, check_options
from andon.config.schema import Params, ProviderConfig
from andon.errors import MalformedReply, ProviderError
from andon.messages import t
from andon.providers import local_tools
from andon.providers.base import ImagePart, Message, ProviderRequest, ProviderResponse
from andon.providers.local_model import DEFAULT_MODEL, LOCAL_EXTRA_INSTALL, resolve_model_path
from andon.providers.logprobs import LogprobRecorder


@dataclass(frozen=True, slots=True)
class LoadedModel:
    """One llama.cpp context and the single thread allowed to use it."""

    llama: Any
    executor: ThreadPoolExecutor
    path: Path


# A llama context is not thread-safe and costs ~0.5 GB, so each (file, context settings) is loaded once
# per process and shared by every provider naming it; its one-thread executor is the only place it runs.
_LOADED: dict[tuple[str, int, int, int], LoadedModel] = {}
_LOAD_LOCK = threading.Lock()


def _import_llama() -> Any:
    try:
        import llama_cpp
    except ImportError as exc:
        raise ProviderError(
            t("house2.local.llama"), hint=t("house2.local.llama_hint", install=LOCAL_EXTRA_INSTALL)
        ) from exc
    return llama_cpp


def load_model(path: Path, *, n_ctx: int, n_threads: int, n_batch: int) -> LoadedModel:
    """The process-wide llama context for ``path`` with these settings, loading it on first use."""
    key = (str(path.resolve()), n_ctx, n_threads, n_batch)
    with _LOAD_LOCK:
        loaded = _LOADED.get(key)
        if loaded is not None:
            return loaded
        llama_cpp = _import_llama()
        try:
            llama = llama_cpp.Llama(
                model_path=str(path),
                n_ctx=n_ctx,
                n_threads=n_threads,
                n_threads_batch=n_threads,
                n_batch=n_batch,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise ProviderError(t("house2.local.load", path=path, error=exc), hint=t("house2.local.load_hint")) from exc
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="andon-llama")
        loaded = _LOADED[key] = LoadedModel(llama=llama, executor=executor, path=path)
        return loaded


def unload_models() -> None:
    """Free every loaded model (waiting for running calls); the next call loads again."""
    with _LOAD_LOCK:
        items = list(_LOADED.values())
        _LOADED.clear()
    for loaded in items:
        loaded.executor.shutdown(wait=True, cancel_futures=True)
        loaded.llama.close()


def default_threads() -> int:
    """Half the CPUs this process may use (at least one): llama.cpp's own physical-core rule of thumb."""
    # llama.cpp's threads meet at a barrier after every layer, so one descheduled thread stalls the rest:
    # measured on a busy 2-vCPU machine, 2 threads decoded 2-3 tok/s while 1 thread held ~24 tok/s.
    # Leaving half the CPUs (usually the hyperthread siblings) to the event loop and the OS avoids that cliff.
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return max(1, usable // 2)


def _chat_messages(messages: Sequence[Message], provider: str) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for message in messages:
        if any(isinstance(part, ImagePart) for part in message.content):
            raise ProviderError(
                t("house2.local.images"),
                provider=provider,
                retryable=False,
                hint=t("house2.local.images_hint"),
            )
        out.append({"role": message.role, "content": message.text})
    return out


def _sampling(params: Params) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    if params.temperature is not None:
        kwargs["temperature"] = params.temperature
    if params.top_p is not None:
        kwargs["top_p"] = params.top_p
    if params.max_tokens is not None:
        kwargs["max_tokens"] = params.max_tokens
    if params.seed is not None:
        kwargs["seed"] = params.seed
    if params.stop:
        kwargs["stop"] = list(params.stop)
    # llama-cpp-python compiles either form into a grammar, so the reply is valid JSON token by token.
    if params.json_schema is not None:
        kwargs["response_format"] = {"type": "json_object", "schema": params.json_schema}
    elif params.json_mode:
        kwargs["response_format"] = {"type": "json_object"}
    return kwargs


def _generate(llama: Any, kwargs: dict[str, Any], logprobs: bool = False) -> tuple[dict[str, Any], float]:
    # Timed inside the model's thread: latency is the model's work, not the wait behind other calls.
    start = time.perf_counter()
    # llama-cpp-python's own logprobs need logits_all (n_ctx x vocab floats, ~2.5 GB here); a logits processor
    # records only the chosen tokens' logprobs while sampling, at the cost of one log-softmax per token.
    recorder = LogprobRecorder(llama.detokenize) if logprobs else None
    if recorder is not None:
        kwargs = {**kwargs, "logits_processor": _processors([recorder])}
    reply: dict[str, Any] = llama.create_chat_completion(**kwargs)
    if recorder is not None:
        reply["andon_logprobs"] = recorder.entries()
    return reply, (time.perf_counter() - start) * 1000.0


def _processors(items: list[Any]) -> Any:
    return _import_llama().LogitsProcessorList(items)


class LocalProvider:
    """Runs an embedded GGUF model (default: Qwen2.5-Coder-0.5B-Instruct) in this process.

    Options: ``n_ctx`` (4096), ``n_threads`` (half the CPUs), ``n_batch`` (512), ``model_path``, ``sha256``.
    """

    Options = LocalOptions

    def __init__(self, name: str, config: ProviderConfig) -> None:
        self.name = name
        self._config = config
        self._options: LocalOptions = check_options(LocalOptions, name, config)
        self._n_ctx = self._options.get("n_ctx", 4096)
        self._n_threads = self._options.get("n_threads") or default_threads()
        self._n_batch = self._options.get("n_batch", 512)
        self._models: dict[str, LoadedModel] = {}
        self._closed = False

    def _model_name(self, model: str | None) -> str:
        # With only options.model_path set, name the file: provenance must not claim the default model.
        fallback = self._options.get("model_path") or DEFAULT_MODEL
        return model or self._config.model or fallback

    def _load(self, model: str) -> LoadedModel:
        _import_llama()  # fail on the missing extra before spending seconds joining weights
        path = resolve_model_path(model, self._options)
        return load_model(path, n_ctx=self._n_ctx, n_threads=self._n_threads, n_batch=self._n_batch)

    async def load(self, model: str | None = None) -> LoadedModel:
        """Join, verify and load the model now (the first call does it otherwise)."""
        name = self._model_name(model)
        loaded = self._models.get(name)
        if loaded is None:
            loaded = self._models[name] = await asyncio.to_thread(self._load, name)
        return loaded

    async def complete(self, request: ProviderRequest) -> ProviderResponse:
        """Answer one request; concurrent calls queue for the model's single thread."""
        if self._closed:
            raise ProviderError("the provider is closed", provider=self.name)
        params = request.params
        kwargs = _sampling(params)
        kwargs["messages"] = _chat_messages(request.messages, self.name)
        if request.tools:  # no native tool format: a grammar makes the reply an answer or one tool call
            kwargs["messages"] = local_tools.chat_with_tools(request.messages, kwargs["messages"], request.tools)
            schema = local_tools.reply_schema(request.tools, params)
            kwargs["response_format"] = {"type": "json_object", "schema": schema}
        model = self._model_name(request.model)
        loaded = await self.load(model)
        loop = asyncio.get_running_loop()
        try:
            reply, latency_ms = await loop.run_in_executor(
                loaded.executor, _generate, loaded.llama, kwargs, params.logprobs
            )
        except ValueError as exc:  # llama-cpp-python rejects bad requests (e.g. a too-long prompt) this way
            too_long = "context window" in str(exc)
            raise ProviderError(
                t("house2.local.refused", error=exc),
                provider=self.name,
                retryable=False,
                hint=t("house2.local.n_ctx_hint", n_ctx=self._n_ctx) if too_long else t("house2.local.params_hint"),
            ) from exc
        except RuntimeError as exc:
            raise ProviderError(t("house2.local.failed", error=exc), provider=self.name) from exc
        if request.tools:
            local_tools.read_reply(reply, request.messages, params, self.name)
        return self._response(model, params, reply, latency_ms)

    def _response(self, model: str, params: Params, reply: dict[str, Any], latency_ms: float) -> ProviderResponse:
        choice = reply["choices"][0]
        text = choice["message"].get("content") or ""
        finish = choice.get("finish_reason")
        usage = reply.get("usage") or {}
        parsed: Any = None
        if (params.json_schema is not None or params.json_mode) and not choice["message"].get("tool_calls"):
            try:
                parsed = json.loads(text)
            except json.JSONDecodeError as exc:
                cut = finish == "length"
                raise MalformedReply(
                    t("house2.local.cut_json" if cut else "house2.local.bad_json"),
                    provider=self.name,
                    raw=text,
                    hint=t("house2.local.cut_json_hint" if cut else "house2.local.bad_json_hint"),
                ) from exc
        logprobs = reply.pop("andon_logprobs", None)
        return ProviderResponse(
            text=text,
            model=model,
            input_tokens=int(usage.get("prompt_tokens", 0)),
            output_tokens=int(usage.get("completion_tokens", 0)),
            latency_ms=latency_ms,
            parsed=parsed,
            finish_reason=finish,
            raw=reply,
            logprobs=logprobs,
        )

    async def aclose(self) -> None:
        """Stop accepting calls; loaded models stay cached for the process (see :func:`unload_models`)."""
        self._closed = True
        self._models.clear()
