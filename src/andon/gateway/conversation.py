"""Conversations on ``feature:`` models: the whole chat history fills a conversation step's variable (issue 14)."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import Request

from andon.config.conversation import messages_variable
from andon.errors import AndonError
from andon.gateway.openai_compat import ChatMessage, FeatureTarget
from andon.gateway.reload import gateway_of, workspace_of
from andon.versions.canonical import Version


def conversation_variables(version: Version) -> set[str]:
    """The variables a version's conversation steps read their messages from."""
    return {messages_variable(step.messages) for step in version.steps if step.messages is not None}


def history(messages: list[ChatMessage]) -> list[dict[str, Any]]:
    """The messages exactly as the caller sent them (tool calls and names kept), for the variable and provenance."""
    return [message.model_dump(mode="json", exclude_none=True) for message in messages]


async def target_version(request: Request, target: FeatureTarget) -> Version | None:
    """The version a ``feature:`` model names (its live one when none is named), or None when there is none."""
    try:
        if target.version is None:
            return await gateway_of(request).live_version(target.feature)
        return await asyncio.to_thread(workspace_of(request).version, target.feature, target.version)
    except AndonError:
        return None  # invoking says what is wrong, in its own words


async def fill_history(
    request: Request, target: FeatureTarget, variables: dict[str, Any], messages: list[ChatMessage]
) -> None:
    """Give each conversation variable the served version reads (and the call lacks) the whole history."""
    version = await target_version(request, target)
    if version is None:
        return
    for name in conversation_variables(version) - set(variables):
        variables[name] = history(messages)
