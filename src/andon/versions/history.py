"""A conversation variable (OpenAI-style messages: roles, text and image parts) as the providers' messages."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from andon.config.conversation import messages_variable
from andon.errors import TemplateError
from andon.messages import t
from andon.providers.base import Message, Part, TextPart
from andon.versions.images import image_part

Role = Literal["system", "user", "assistant", "tool"]
_ROLES: dict[str, Role] = {"system": "system", "developer": "system", "user": "user", "assistant": "assistant"}


IMAGE_KINDS = ("image_url", "image")  # OpenAI's part ({"image_url": {"url": …}}) and a plain one ({"url": …})


def image_url_of(part: Mapping[str, Any]) -> Any:
    """What an image part of a message points at (a URL, data URL or path), as the caller wrote it."""
    url = part.get("image_url") if part.get("type") == "image_url" else part.get("url")
    return url.get("url") if isinstance(url, Mapping) else url


def history_messages(
    reference: str, variables: Mapping[str, Any], *, base_dir: Path | None = None, where: str = "version"
) -> tuple[Message, ...]:
    """The messages held by the variable ``reference`` names, checked one by one (errors name the message)."""
    name = messages_variable(reference)
    at = f"{where}.messages"
    if name not in variables:
        names = ", ".join(sorted(k for k in variables if k != "steps")) or t("house2.none")
        raise TemplateError(
            t("agents.history.missing", name=name), where=at, hint=t("house2.render.provides", names=names)
        )
    value = variables[name]
    if not isinstance(value, list | tuple):
        raise TemplateError(t("agents.history.not_list", name=name, type=type(value).__name__), where=at)
    if not value:
        raise TemplateError(t("agents.history.empty", name=name), where=at)
    out: list[Message] = []
    for index, item in enumerate(value):
        if not isinstance(item, Mapping) or "role" not in item:
            raise TemplateError(t("agents.history.not_message", index=index, name=name), where=at)
        role = _ROLES.get(str(item["role"]))
        if item["role"] == "tool" and isinstance(item.get("tool_call_id"), str):
            role = "tool"  # a tool's result answering an earlier assistant's call (the caller ran the tool)
        if role is None:
            raise TemplateError(
                t("agents.history.role", index=index, name=name, role=item["role"]),
                where=at,
                hint=t("agents.history.role_hint"),
            )
        content = item.get("content")
        parts: list[Part] = []
        if isinstance(content, str):
            parts.append(TextPart(content))
        elif isinstance(content, list | tuple):
            for part in content:
                kind = part.get("type") if isinstance(part, Mapping) else type(part).__name__
                if kind == "text" and isinstance(part, Mapping) and isinstance(part.get("text"), str):
                    parts.append(TextPart(part["text"]))
                elif kind in IMAGE_KINDS and isinstance(part, Mapping):
                    parts.append(image_part(image_url_of(part), base_dir, f"{at}.{index}"))
                else:
                    raise TemplateError(t("agents.history.part", index=index, name=name, type=kind), where=at)
        elif content is not None:
            raise TemplateError(t("agents.history.content", index=index, name=name), where=at)
        calls = item.get("tool_calls") if role == "assistant" else None
        tool_calls = tuple(c for c in calls if isinstance(c, Mapping)) if isinstance(calls, list | tuple) else ()
        answers = str(item["tool_call_id"]) if role == "tool" else None
        out.append(Message(role, tuple(parts), tool_calls=tuple(dict(c) for c in tool_calls), tool_call_id=answers))
    return tuple(out)
