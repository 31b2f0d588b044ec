"""OpenAI's dialect for ``/v1/chat/completions`` and ``/v1/models`` (routes in ``routes/chat.py``): an app
changes its base URL and nothing else.

``model`` picks what answers:

- ``feature:NAME`` (or ``feature:NAME@VERSION``) runs the feature's live (or named) version. The last user
  message becomes the variables: a JSON object is used as they are; any other text fills the feature's
  ``chat_input`` variable, or else becomes ``{"input": text, "messages": [...all messages...]}`` (plus
  ``"images": [urls]`` when it has images). Text that cannot fill the prompt gets an error naming its variables.
- ``PROVIDER/MODEL`` or a bare provider name (its default model) calls a provider from andon.yaml directly;
  only models andon.yaml names (or ``gateway.models`` allows) can be named.

Both are traced like any invoke. On provider models the caller may offer its own ``tools`` (with ``tool_choice``,
``parallel_tool_calls``) and send back ``tool`` messages: the model's calls come back as ``message.tool_calls``
with finish_reason ``tool_calls`` (streamed as OpenAI streams them); andon never runs these tools, and a feature's
own tools run inside andon, so ``feature:`` models refuse ``tools``. Providers do not stream yet, so ``stream: true``
sends the finished text in chunks in OpenAI's chunk format, ending with ``data: [DONE]``. Caller ids: ``user``
(or ``x-andon-user-id``), ``x-andon-session-id``, ``x-andon-tenant`` headers, and ``metadata`` as tags.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import jsonschema
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from andon.config.schema import Params, Step, WorkspaceConfig
from andon.errors import ConfigError, NotFoundError
from andon.gateway.confmemo import per_config
from andon.gateway.disclosure import pick_notice
from andon.gateway.http_errors import NO_NUL, STORABLE_JSON_REF, ApiError, StoredObject, StoredText, json_problem
from andon.gateway.jsonlimits import MAX_JSON_DEPTH, nesting_depth
from andon.gateway.types import InvokeResult
from andon.messages import t
from andon.providers.base import ImagePart, Message, Part, TextPart
from andon.versions.canonical import PYTHON_PROVIDER, Version, one_step_version, resolve_step

FEATURE_PREFIX = "feature:"
MODEL_FEATURE_PREFIX = "@"  # traces of plain provider models are filed under feature "@<provider>"
STREAM_CHUNK_CHARS = 48  # a chunk carries whole words, about this many characters
TOOL_NAME = r"^[A-Za-z0-9_-]{1,64}$"  # OpenAI's rule for function names
MAX_TOOLS = 128  # OpenAI's limit on tools per request
CLIENT_TOOL_PROVIDERS = ("openai", "anthropic")  # the provider types that map tool definitions and calls natively

# --- request -----------------------------------------------------------------------------------------


class ImageURL(BaseModel):
    """An image in a message: an http(s) or data: URL."""

    url: StoredText
    detail: StoredText | None = None


class ContentPart(BaseModel):
    """One part of a message's content (text or image_url are supported)."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={"additionalProperties": STORABLE_JSON_REF, "propertyNames": {"pattern": NO_NUL}},
    )

    type: StoredText
    text: StoredText | None = None
    image_url: ImageURL | None = None


class ChatMessage(BaseModel):
    """One chat message as OpenAI's API takes it."""

    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: StoredText | list[ContentPart] | None = None
    name: StoredText | None = None
    tool_calls: list[StoredObject] | None = None  # kept so a conversation's provenance has every message exactly
    tool_call_id: StoredText | None = None


class StreamOptions(BaseModel):
    """Streaming options."""

    include_usage: bool = False


class JsonSchemaFormat(BaseModel):
    """``response_format.json_schema``."""

    model_config = ConfigDict(populate_by_name=True)

    name: StoredText | None = None
    schema_: StoredObject | None = Field(default=None, alias="schema")
    strict: bool | None = None


class ResponseFormat(BaseModel):
    """``response_format``: text, a JSON object, or JSON following a schema."""

    type: Literal["text", "json_object", "json_schema"] = "text"
    json_schema: JsonSchemaFormat | None = None


class FunctionDefinition(BaseModel):
    """A tool's function: a name, what it does, and its arguments' JSON Schema (an object)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=TOOL_NAME)
    description: StoredText | None = None
    parameters: StoredObject | None = None
    strict: bool | None = None

    @field_validator("parameters")
    @classmethod
    def _schema(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        problem = json_problem(value)
        if problem:
            raise ValueError(problem)
        try:
            jsonschema.validators.validator_for(value).check_schema(value)
        except jsonschema.SchemaError as exc:
            raise ValueError(t("stream14.tools.schema", error=exc.message)) from None
        if value.get("type", "object") != "object":
            raise ValueError(t("stream14.tools.object", type=value.get("type")))
        return value


class ToolDefinition(BaseModel):
    """A tool the caller runs itself (OpenAI's ``tools`` entry; only ``function`` tools exist)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["function"]
    function: FunctionDefinition


class FunctionName(BaseModel):
    """``tool_choice.function``: the one function the model must call."""

    name: str = Field(pattern=TOOL_NAME)


class NamedToolChoice(BaseModel):
    """``tool_choice`` naming one function."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["function"]
    function: FunctionName


class ChatCompletionRequest(BaseModel):
    """The subset of OpenAI's chat completion request the gateway honours; unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1, max_length=400, pattern=NO_NUL)
    messages: list[ChatMessage] = Field(
        min_length=1,
        # Every call needs a user message; the validator says which shapes a provider call takes.
        json_schema_extra={
            "contains": {"type": "object", "required": ["role"], "properties": {"role": {"const": "user"}}}
        },
    )
    stream: bool = False
    stream_options: StreamOptions | None = None
    temperature: float | None = Field(default=None, ge=0, le=2)
    top_p: float | None = Field(default=None, gt=0, le=1)
    max_tokens: int | None = Field(default=None, ge=1, le=1_000_000)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=1_000_000)
    seed: int | None = None
    stop: StoredText | list[StoredText] | None = None
    response_format: ResponseFormat | None = None
    n: int | None = Field(default=None, ge=1, le=1, description="Only one choice is supported.")
    user: str | None = Field(default=None, max_length=200, pattern=NO_NUL)
    metadata: dict[StoredText, StoredText] | None = None
    tools: list[ToolDefinition] | None = Field(
        default=None, max_length=MAX_TOOLS, description="Tools the caller runs (provider models only)."
    )
    tool_choice: Literal["auto", "none", "required"] | NamedToolChoice | None = None
    parallel_tool_calls: bool | None = None


class FunctionCall(BaseModel):
    """The function a tool call names, and its arguments as JSON text (as the model wrote them)."""

    name: str
    arguments: str


class ToolCallOut(BaseModel):
    """One tool call the model asks the caller to run."""

    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class AssistantMessage(BaseModel):
    """The answer; ``content`` is null when a human will answer instead, or the model only calls tools."""

    role: Literal["assistant"] = "assistant"
    content: str | None
    refusal: None = None
    tool_calls: list[ToolCallOut] | None = None


class Choice(BaseModel):
    """The one choice of a completion."""

    index: int
    message: AssistantMessage
    finish_reason: str
    logprobs: None = None


class Usage(BaseModel):
    """Tokens of the call (zero for answers from the cache or a human)."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletion(BaseModel):
    """OpenAI's ``chat.completion``, plus ``andon``: trace id, route, cache hit, version and review item."""

    id: str
    object: Literal["chat.completion"]
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
    andon: dict[str, Any]


# One server-sent event: `data:` holds a chat.completion.chunk as JSON, or [DONE] at the end.
SSE_EVENT = {"type": "object", "required": ["data"], "properties": {"data": {"type": "string"}}}


# --- resolving the model -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FeatureTarget:
    """A ``feature:NAME[@VERSION]`` model."""

    feature: str
    version: str | None


@dataclass(frozen=True, slots=True)
class ProviderTarget:
    """A provider model from andon.yaml."""

    provider: str
    model: str


def callable_models(config: WorkspaceConfig) -> dict[str, list[str]]:
    """The models callers may name as ``PROVIDER/MODEL``: those andon.yaml names, plus ``gateway.models``.

    A provider's default model, every model a version step or a judge uses, and the allow-list. Nothing
    else: the string reaches the provider (for the embedded model, a file path), so the caller must not
    choose it. Computed once per config (the chat route asks on every call); callers must not change it.
    """
    return per_config(config, "callable_models", lambda: _callable_models(config))


def _callable_models(config: WorkspaceConfig) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}

    def add(provider: str | None, model: str | None) -> None:
        if provider in config.providers and model and config.providers[provider].type != PYTHON_PROVIDER:
            models = found.setdefault(provider, [])
            if model not in models:
                models.append(model)

    for name, settings in config.providers.items():
        add(name, settings.model)
    for feature_name, feature in config.features.items():
        for version_name, spec in feature.versions.items():
            for step in spec.normalized_steps():
                try:
                    resolved = resolve_step(step, config, f"features.{feature_name}.versions.{version_name}")
                except ConfigError:
                    continue  # the gateway refuses such a version at start; it declares no model here
                add(resolved.provider, resolved.model)
        for grader in feature.graders:
            judge, judge_model = getattr(grader, "judge", None), getattr(grader, "model", None)
            if isinstance(judge, str) and judge in config.providers:
                add(judge, judge_model if isinstance(judge_model, str) else config.providers[judge].model)
    for entry in config.gateway.models:
        allowed_provider, _, allowed_model = entry.partition("/")
        add(allowed_provider, allowed_model)
    return found


def resolve_model(model: str, config: WorkspaceConfig, *, reveal: bool = False) -> FeatureTarget | ProviderTarget:
    """What a ``model`` string names; anything else is one ``not_found`` error, listing what exists if ``reveal``.

    Undeclared provider models get the same answer whether or not the name means something on the server.
    """
    if model.startswith(FEATURE_PREFIX):
        name, _, version = model[len(FEATURE_PREFIX) :].partition("@")
        if name not in config.features:
            known = ", ".join(f"feature:{f}" for f in config.features) or "none"
            hint = t("http.known", known=known) if reveal else t("http.ask_admin")
            raise ApiError("not_found", t("http.no_feature", feature=name), hint=hint)
        return FeatureTarget(name, version or None)
    allowed = callable_models(config)
    provider, slash, sub_model = model.partition("/")
    if provider in allowed:
        if slash and sub_model in allowed[provider]:
            return ProviderTarget(provider, sub_model)
        default = config.providers[provider].model
        if not slash and default:
            return ProviderTarget(provider, default)
    features = [f"{FEATURE_PREFIX}{f}" for f in config.features]
    providers = [f"{p}/{m}" for p, models in allowed.items() for m in models]
    hint = t("http.known_models", known=", ".join(features + providers) or "none") if reveal else t("http.ask_admin")
    raise ApiError("not_found", t("http.no_model", model=model), hint=hint)


# --- mapping messages --------------------------------------------------------------------------------


def _text(content: str | list[ContentPart] | None) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(part.text or "" for part in content if part.type == "text")


def _images(content: str | list[ContentPart] | None) -> list[str]:
    if not isinstance(content, list):
        return []
    return [part.image_url.url for part in content if part.type == "image_url" and part.image_url is not None]


def _plain(message: ChatMessage) -> dict[str, Any]:
    content: Any = message.content
    if isinstance(content, list):
        content = [part.model_dump(exclude_none=True) for part in content]
    return {"role": message.role, "content": content}


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # NaN and Infinity: no store keeps them as JSON


def feature_variables(messages: list[ChatMessage], chat_input: str | None = None) -> tuple[dict[str, Any], bool]:
    """The variables of a feature call, and whether they came from plain text.

    The last user message's JSON object is the variables; other text fills the feature's ``chat_input``
    variable, or by default becomes ``{"input": text, "messages": [...]}`` (plus ``"images"`` when it has any).
    """
    last = next((m for m in reversed(messages) if m.role == "user"), None)
    if last is None:
        raise ApiError("invalid_request", t("house3.chat.no_user"), hint=t("house3.chat.no_user_hint"))
    text = _text(last.content)
    parsed: Any = None
    if text.lstrip().startswith("{"):  # only an object can be the variables; anything else is text as is
        if nesting_depth(text, stop_after=MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
            raise ApiError("invalid_request", t("http.chat.message_too_deep", limit=MAX_JSON_DEPTH))
        try:
            parsed = json.loads(text, parse_constant=_no_constant)
        except ValueError:
            parsed = None
    if isinstance(parsed, dict):
        problem = json_problem(parsed)
        if problem:
            raise ApiError("invalid_request", t("house3.chat.unstorable", problem=problem))
        return parsed, False
    variables: dict[str, Any] = (
        {chat_input: text} if chat_input else {"input": text, "messages": [_plain(m) for m in messages]}
    )
    images = _images(last.content)
    if images:
        variables["images"] = images
    return variables, True


def provider_messages(messages: list[ChatMessage]) -> list[Message]:
    """Chat messages as the providers' messages (``developer`` counts as ``system``).

    An assistant's ``tool_calls`` and ``tool`` messages answering them are kept; a tool message must answer a
    call an earlier assistant message made.
    """
    out: list[Message] = []
    asked: set[str] = set()
    for index, message in enumerate(messages):
        role: Literal["system", "user", "assistant", "tool"] = "system" if message.role == "developer" else message.role
        parts: list[Part] = []
        if isinstance(message.content, str):
            parts.append(TextPart(message.content))
        elif message.content is not None:
            for part in message.content:
                if part.type == "text":
                    parts.append(TextPart(part.text or ""))
                elif part.type == "image_url" and part.image_url is not None and role != "tool":
                    parts.append(ImagePart(part.image_url.url))
                else:
                    raise ApiError(
                        "invalid_request",
                        t("house3.chat.part", index=index, type=part.type),
                        hint=t("house3.chat.part_hint"),
                    )
        calls = _wire_calls(index, message.tool_calls) if role == "assistant" and message.tool_calls else ()
        asked.update(call["id"] for call in calls)
        answers = None
        if role == "tool":
            answers = message.tool_call_id
            if not answers:
                raise ApiError("invalid_request", t("stream14.chat.tool_id", index=index))
            if answers not in asked:
                raise ApiError(
                    "invalid_request",
                    t("stream14.chat.unknown_call", index=index, id=answers),
                    hint=t("stream14.chat.unknown_call_hint"),
                )
        out.append(Message(role=role, content=tuple(parts), tool_calls=calls, tool_call_id=answers))
    return out


def _wire_calls(index: int, calls: list[dict[str, Any]]) -> tuple[dict[str, Any], ...]:
    """An assistant message's tool calls, checked to be OpenAI's shape: id, type function, name and text arguments."""
    out = []
    for number, call in enumerate(calls):
        function = call.get("function")
        if (
            not isinstance(call.get("id"), str)
            or call.get("type", "function") != "function"
            or not isinstance(function, dict)
            or not isinstance(function.get("name"), str)
            or not isinstance(function.get("arguments"), str)
        ):
            raise ApiError(
                "invalid_request",
                t("stream14.chat.call_shape", index=index, number=number),
                hint=t("stream14.chat.call_shape_hint"),
            )
        name, arguments = function["name"], function["arguments"]
        out.append({"id": call["id"], "type": "function", "function": {"name": name, "arguments": arguments}})
    return tuple(out)


def check_client_tools(
    body: ChatCompletionRequest, target: FeatureTarget | ProviderTarget, config: WorkspaceConfig
) -> None:
    """Refuse tool fields that cannot work: on a feature, on a provider that cannot take them, or naming no tool."""
    given = [name for name in ("tools", "tool_choice", "parallel_tool_calls") if getattr(body, name) is not None]
    if not given:
        return
    if isinstance(target, FeatureTarget):
        raise ApiError(
            "invalid_request",
            t("stream14.tools.feature", field=given[0], feature=target.feature),
            hint=t("stream14.tools.feature_hint"),
        )
    kind = config.providers[target.provider].type
    if kind not in CLIENT_TOOL_PROVIDERS:
        raise ApiError("invalid_request", t("stream14.tools.provider", provider=target.provider, type=kind))
    names = [tool.function.name for tool in body.tools or []]
    for number, name in enumerate(names):
        if name in names[:number]:
            raise ApiError("invalid_request", t("stream14.tools.duplicate", number=number, name=name))
    if body.tool_choice is not None and not names:
        raise ApiError("invalid_request", t("stream14.tools.choice_without"))
    if isinstance(body.tool_choice, NamedToolChoice) and body.tool_choice.function.name not in names:
        raise ApiError(
            "invalid_request",
            t("stream14.tools.choice_unknown", name=body.tool_choice.function.name, known=", ".join(names)),
        )
    if names and body.response_format is not None and body.response_format.type != "text":
        raise ApiError("invalid_request", t("stream14.tools.response_format"))


def provider_params(body: ChatCompletionRequest) -> Params:
    """Sampling and output parameters from the request."""
    fields: dict[str, Any] = {
        "temperature": body.temperature,
        "top_p": body.top_p,
        "max_tokens": body.max_completion_tokens or body.max_tokens,
        "seed": body.seed,
        "stop": [body.stop] if isinstance(body.stop, str) else body.stop,
        "client_tools": [tool.model_dump(exclude_none=True) for tool in body.tools] if body.tools else None,
        "tool_choice": body.tool_choice.model_dump() if isinstance(body.tool_choice, BaseModel) else body.tool_choice,
        "parallel_tool_calls": body.parallel_tool_calls,
    }
    fmt = body.response_format
    if fmt is not None and fmt.type == "json_object":
        fields["json_mode"] = True
    elif fmt is not None and fmt.type == "json_schema":
        schema = fmt.json_schema.schema_ if fmt.json_schema else None
        if not schema:
            raise ApiError("invalid_request", t("house3.chat.schema"))
        fields["json_schema"] = schema
    try:
        return Params(**{k: v for k, v in fields.items() if v is not None})
    except ValidationError as exc:
        message = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise ApiError("invalid_request", message) from None


# --- response ----------------------------------------------------------------------------------------


def result_content(result: InvokeResult) -> str | None:
    """The assistant message text of a result: its text, else its JSON as text."""
    if result.output_text is not None:
        return result.output_text
    if result.output_json is not None:
        return json.dumps(result.output_json, ensure_ascii=False)
    return None


def client_tool_calls(result: InvokeResult, offered: bool) -> list[dict[str, Any]] | None:
    """The tool calls the model asked the caller to run (the output of a call that offered ``tools``), if any."""
    output = result.output_json
    if not offered or not isinstance(output, dict) or not isinstance(output.get("tool_calls"), list):
        return None
    return list(output["tool_calls"]) or None


def usage(result: InvokeResult) -> dict[str, int]:
    """OpenAI's usage object."""
    return {
        "prompt_tokens": result.input_tokens,
        "completion_tokens": result.output_tokens,
        "total_tokens": result.input_tokens + result.output_tokens,
    }


def andon_extension(result: InvokeResult, accept_language: str | None = None) -> dict[str, Any]:
    """What the gateway adds to OpenAI's shape (clients that do not know it ignore it)."""
    notice = pick_notice(result.ai_notice, accept_language) if result.ai_notice else None
    return {
        "trace_id": result.trace_id,
        "route": result.route,
        "status": result.status,
        "cached": result.cached,
        "version_id": result.version_id,
        "version_name": result.version_name,
        "review_id": result.review_id,
        "output_json": result.output_json,
        "cost": result.cost,
        "currency": result.currency,
        "ai_generated": result.ai_generated,
        "ai_notice": notice,
    }


def completion_body(
    result: InvokeResult,
    model: str,
    created: int,
    accept_language: str | None = None,
    *,
    tools_offered: bool = False,
) -> dict[str, Any]:
    """A ``chat.completion`` object for a finished result (with ``tool_calls`` when the model asked for tools)."""
    calls = client_tool_calls(result, tools_offered)
    message: dict[str, Any] = {"role": "assistant", "content": result_content(result), "refusal": None}
    if calls:
        message["content"] = result.output_text or None
        message["tool_calls"] = calls
    return {
        "id": f"chatcmpl-{result.trace_id}",
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if calls else "stop",
                "logprobs": None,
            }
        ],
        "usage": usage(result),
        "andon": andon_extension(result, accept_language),
    }


def split_for_stream(text: str, size: int = STREAM_CHUNK_CHARS) -> list[str]:
    """Pieces of ``text`` (whole words, about ``size`` characters each) that join back to exactly ``text``."""
    pieces: list[str] = []
    current = ""
    for word in re.findall(r"\s*\S+|\s+", text):
        if current and len(current) + len(word) > size:
            pieces.append(current)
            current = ""
        current += word
    if current:
        pieces.append(current)
    return pieces


def stream_events(
    result: InvokeResult,
    model: str,
    created: int,
    include_usage: bool,
    accept_language: str | None = None,
    *,
    tools_offered: bool = False,
) -> Iterator[str]:
    """Server-sent events of a finished result in OpenAI's chunk format, ending with ``[DONE]``.

    Tool calls come as OpenAI sends them: per call a chunk with index, id, type and name, then its arguments in
    pieces, and a last chunk with finish_reason ``tool_calls``.
    """
    calls = client_tool_calls(result, tools_offered)
    base = {"id": f"chatcmpl-{result.trace_id}", "object": "chat.completion.chunk", "created": created, "model": model}

    def event(choices: list[dict[str, Any]], **extra: Any) -> str:
        return "data: " + json.dumps({**base, "choices": choices, **extra}, ensure_ascii=False) + "\n\n"

    def delta(**fields: Any) -> str:
        return event([{"index": 0, "delta": fields, "finish_reason": None}])

    yield delta(role="assistant", content="")
    text = (result.output_text or "") if calls else (result_content(result) or "")
    for piece in split_for_stream(text):
        yield delta(content=piece)
    for number, call in enumerate(calls or []):
        function = call["function"]
        head = {"name": function["name"], "arguments": ""}
        yield delta(tool_calls=[{"index": number, "id": call["id"], "type": "function", "function": head}])
        arguments = function["arguments"]
        for start in range(0, len(arguments), STREAM_CHUNK_CHARS):
            piece = arguments[start : start + STREAM_CHUNK_CHARS]
            yield delta(tool_calls=[{"index": number, "function": {"arguments": piece}}])
    final = {"index": 0, "delta": {}, "finish_reason": "tool_calls" if calls else "stop"}
    if include_usage:
        # As OpenAI does: usage comes alone in a last chunk with no choices, only when asked for.
        yield event([final], andon=andon_extension(result, accept_language))
        yield event([], usage=usage(result))
    else:
        yield event([final], usage=usage(result), andon=andon_extension(result, accept_language))
    yield "data: [DONE]\n\n"


# --- plain provider models ---------------------------------------------------------------------------


def adhoc_version(
    config: WorkspaceConfig, provider: str, model: str, messages: Sequence[Message], params: Params
) -> tuple[Version, dict[str, Any]]:
    """A plain model call as an ad-hoc one-step version of feature ``@<provider>``, and its variables.

    An optional system message then one user message (text and images) fill a prompt step; a history with the
    caller's tool calls and results, a conversation step. Other histories, an unknown or Python provider are refused.
    """
    provider_config = config.providers.get(provider)
    if provider_config is None:
        known = ", ".join(n for n, p in config.providers.items() if p.type != PYTHON_PROVIDER) or t(
            "house3.outbox.none"
        )
        raise NotFoundError(
            t("house3.chat.no_provider", provider=provider), hint=t("house3.chat.providers", known=known)
        )
    if provider_config.type == PYTHON_PROVIDER:
        # The model of a python provider names a function to import and run: never from a request.
        raise ConfigError(
            t("house3.chat.python_provider", provider=provider),
            hint=t("house3.chat.python_provider_hint"),
        )
    if any(m.tool_calls or m.role == "tool" for m in messages):
        return _conversation_version(config, provider, model, messages, params)
    system: str | None = None
    rest = list(messages)
    if rest and rest[0].role == "system":
        system = rest.pop(0).text
    if len(rest) != 1 or rest[0].role != "user":
        raise ConfigError(
            t("house3.chat.plain"),
            where="messages",
            hint=t("house3.chat.plain_hint"),
        )
    texts = [part.text for part in rest[0].content if isinstance(part, TextPart)]
    images = [part.url for part in rest[0].content if isinstance(part, ImagePart)]
    variables: dict[str, Any] = {"prompt": "\n".join(texts)}
    if system is not None:
        variables["system"] = system
    image_names = [f"image_{i}" for i in range(len(images))]
    variables.update(zip(image_names, images, strict=True))
    # The version depends only on these, not on the messages' text: built (and hashed) once per config and shape.
    # Over HTTP the model is one andon.yaml names (resolve_model); per_config caps the entries for other callers.
    shape = (provider, model, system is not None, len(images), params.model_dump_json())
    version = per_config(config, ("adhoc", shape), lambda: _adhoc(config, provider, model, system, image_names, params))
    return version, variables


def _conversation_version(
    config: WorkspaceConfig, provider: str, model: str, messages: Sequence[Message], params: Params
) -> tuple[Version, dict[str, Any]]:
    """A history with tool calls and their results as an ad-hoc conversation step over ``messages``."""
    for index, message in enumerate(messages):
        for part in message.content:
            # The conversation step reads a path as a local file: only URLs and inline images may come from a caller.
            if isinstance(part, ImagePart) and not part.url.startswith(("http://", "https://", "data:")):
                raise ApiError("invalid_request", t("stream14.chat.image_url", index=index))
    if not any(m.role == "user" for m in messages):
        raise ConfigError(t("house3.chat.plain"), where="messages", hint=t("house3.chat.plain_hint"))
    variables: dict[str, Any] = {"messages": [m.to_json() for m in messages]}
    shape = (provider, model, "conversation", params.model_dump_json())
    version = per_config(config, ("adhoc", shape), lambda: _adhoc_conversation(config, provider, model, params))
    return version, variables


def _adhoc_conversation(config: WorkspaceConfig, provider: str, model: str, params: Params) -> Version:
    step = Step(provider=provider, model=model, messages="{{ messages }}", params=params)
    return one_step_version(f"{MODEL_FEATURE_PREFIX}{provider}", model[:200], step, config)


def _adhoc(
    config: WorkspaceConfig, provider: str, model: str, system: str | None, image_names: list[str], params: Params
) -> Version:
    # The messages travel as variables, never as template source, so `{{ }}` in them is plain text.
    step = Step(
        provider=provider,
        model=model,
        system="{{ system }}" if system is not None else None,
        prompt="{{ prompt }}",
        images=image_names,
        params=params,
    )
    feature = f"{MODEL_FEATURE_PREFIX}{provider}"
    return one_step_version(feature, model[:200], step, config)
