"""A conversation step's ``messages:`` field: one variable, written ``"{{ history }}"``, holding the chat so far."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

from andon.messages import t

_REFERENCE = re.compile(r"^\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}$")


def messages_variable(reference: str) -> str:
    """The variable a ``messages:`` reference names (``"{{ history }}"`` → ``history``)."""
    match = _REFERENCE.match(reference.strip())
    if match is None:
        raise ValueError(t("agents.schema.messages_ref", given=reference))
    return match.group(1)


def _check(reference: str) -> str:
    messages_variable(reference)
    return reference


MessagesRef = Annotated[str, AfterValidator(_check)]
