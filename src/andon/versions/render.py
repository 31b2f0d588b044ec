"""Render a version step plus case variables into chat messages (text, and images as data URLs)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, Template, TemplateSyntaxError, UndefinedError, meta, nodes
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from andon.config.conversation import messages_variable
from andon.config.schema import Step
from andon.errors import TemplateError
from andon.messages import t
from andon.providers.base import Message, Part, TextPart
from andon.versions.history import history_messages
from andon.versions.images import MAX_IMAGE_BYTES as MAX_IMAGE_BYTES  # re-exported: callers import them here
from andon.versions.images import image_data_url as image_data_url
from andon.versions.images import image_part


@lru_cache(maxsize=1)
def _environment() -> ImmutableSandboxedEnvironment:
    # Sandboxed and immutable: a prompt template cannot reach Python internals or mutate the case.
    return ImmutableSandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


@lru_cache(maxsize=1024)
def _compile(source: str) -> Template:
    return _environment().from_string(source)


def parse_template(source: str) -> nodes.Template:
    """The syntax tree of a template, as rendering parses it (raises ``jinja2.TemplateSyntaxError``)."""
    return _environment().parse(source)


def render_template(source: str, variables: Mapping[str, Any], where: str) -> str:
    """Render one Jinja2 template in the sandbox; errors name ``where`` and the template line."""
    try:
        # One mapping, not keywords: a variable may be called `self` (render's own first parameter).
        return _compile(source).render(dict(variables))
    except TemplateSyntaxError as exc:
        raise TemplateError(
            t("house2.render.syntax", error=exc.message), where=t("house2.render.at_line", where=where, line=exc.lineno)
        ) from None
    except UndefinedError as exc:
        names = ", ".join(sorted(k for k in variables if k != "steps")) or t("house2.none")
        raise TemplateError(f"{exc.message}", where=where, hint=t("house2.render.provides", names=names)) from None
    except SecurityError as exc:
        raise TemplateError(t("house2.render.unsafe", error=exc), where=where) from None


def step_variables(step: Step) -> set[str]:
    """The case variables a step's templates and images use (``steps``, earlier steps' outputs, left out)."""
    names = set(step.images) | ({messages_variable(step.messages)} if step.messages else set())
    for source in (step.system, step.prompt):
        if source:
            try:
                names |= meta.find_undeclared_variables(_environment().parse(source))
            except TemplateSyntaxError:
                continue  # rendering reports it, with the line
    names.discard("steps")
    names.discard("chunks")  # a retrieve step's chunks, not a case variable
    return names


def render_messages(
    step: Step, variables: Mapping[str, Any], *, base_dir: Path | None = None, where: str = "version"
) -> tuple[Message, ...]:
    """The messages a model step sends: system instructions, the conversation (``messages:``), the prompt, images."""
    messages: list[Message] = []
    if step.system:
        messages.append(Message("system", (TextPart(render_template(step.system, variables, f"{where}.system")),)))
    if step.messages is not None:
        messages.extend(history_messages(step.messages, variables, base_dir=base_dir, where=where))
        if step.prompt is None and not step.images:
            return tuple(messages)  # the conversation's last turn is the question
    parts: list[Part] = []
    if step.prompt is not None:
        parts.append(TextPart(render_template(step.prompt, variables, f"{where}.prompt")))
    for name in step.images:
        if name not in variables:
            raise TemplateError(t("house2.render.image_var", name=name), where=f"{where}.images")
        parts.append(image_part(variables[name], base_dir, f"{where}.images.{name}"))
    messages.append(Message("user", tuple(parts)))
    return tuple(messages)
