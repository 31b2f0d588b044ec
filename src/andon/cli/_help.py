"""``--help`` in the user's language: the built command tree's help texts, looked up in the catalogue.

The English help stays where Typer reads it (docstrings and ``help=``); ``help.<command path>`` and
``help.<command path>.<param>`` give each text in another language, and ``help.param.<param>`` a text that
many commands share ("Print as JSON."), used where the English matches it. The language is read from
``--lang`` or ``ANDON_LANG`` before the command line is parsed, because help is printed while parsing.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import typer.rich_utils
from typer._click import Command, Context
from typer.core import TyperGroup

from andon.messages import DEFAULT_LANGUAGE, _catalogue, available_languages, current_language
from andon.messages import set_language as choose_language

# Typer's panel titles and markers (English constants of typer.rich_utils), by catalogue key.
_TYPER_TEXTS = {
    "ARGUMENTS_PANEL_TITLE": "help.typer.arguments",
    "OPTIONS_PANEL_TITLE": "help.typer.options",
    "COMMANDS_PANEL_TITLE": "help.typer.commands",
    "ERRORS_PANEL_TITLE": "help.typer.error",
    "REQUIRED_LONG_STRING": "help.typer.required",
    "DEFAULT_STRING": "help.typer.default",
    "RICH_HELP": "help.typer.try_help",
}


def language_from(argv: Sequence[str]) -> str:
    """The language ``--lang`` names on the command line (before ``--``), else the current one."""
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        value = arg.removeprefix("--lang=") if arg.startswith("--lang=") else None
        if arg == "--lang" and i + 1 < len(argv):
            value = argv[i + 1]
        if value is not None:
            code = value.split("_")[0].lower()
            return code if code in available_languages() else DEFAULT_LANGUAGE
    return current_language()


def help_texts(command: Command, path: tuple[str, ...] = ()) -> Iterator[tuple[str, str, object]]:
    """Every help text of the tree under ``command``: (catalogue key, English text, the object holding it)."""
    key = "help." + (".".join(path) if path else "andon")
    if command.help:
        yield key, command.help, command
    for param in command.params:
        text = getattr(param, "help", None)
        if text and param.name and param.name != "help":
            yield f"{key}.{param.name}", text, param
    if isinstance(command, TyperGroup):
        for name, sub in command.commands.items():
            yield from help_texts(sub, (*path, name))


def catalogue_key(key: str, english: str, param: str | None) -> str | None:
    """The catalogue key holding ``english`` in other languages: its own, or the shared one of ``param``."""
    messages = _catalogue(DEFAULT_LANGUAGE)
    if key in messages:
        return key
    shared = f"help.param.{param}"
    return shared if param is not None and messages.get(shared) == english else None


def localize(command: Command, language: str) -> None:
    """Replace the tree's help texts with ``language``'s where the catalogue has them (English: unchanged)."""
    if language == DEFAULT_LANGUAGE:
        return
    messages = _catalogue(language)
    for name, key in _TYPER_TEXTS.items():
        if key in messages:
            setattr(typer.rich_utils, name, messages[key])
    if "help.typer.help_option" in messages:
        _localize_help_option(command, None, messages["help.typer.help_option"])
    for key, english, holder in help_texts(command):
        is_command = isinstance(holder, Command)
        param = None if is_command else key.rpartition(".")[2]
        found = catalogue_key(key, english, param)
        if found is not None and found in messages:
            holder.help = messages[found]  # type: ignore[attr-defined]
            if isinstance(holder, Command):
                holder.short_help = None  # the commands panel shows the first line of the new help


def _localize_help_option(command: Command, parent: Context | None, text: str) -> None:
    """The ``--help`` option of each command: Typer makes it once per command, on first use, and keeps it."""
    ctx = Context(command, parent=parent, info_name=command.name, **command.context_settings)
    option = command.get_help_option(ctx)
    if option is not None:
        option.help = text
    if isinstance(command, TyperGroup):
        for sub in command.commands.values():
            _localize_help_option(sub, ctx, text)


def set_language(argv: Sequence[str]) -> str:
    """Read the language from ``argv`` and make it current, so help and messages agree."""
    return choose_language(language_from(argv))
