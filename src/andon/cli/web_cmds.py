"""`andon user add/list/disable`: who may sign in to the dashboard (`andon serve` at /), and with which role."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer
from rich.text import Text

from andon.cli._common import Listing, console, options, print_json
from andon.config.loader import find_config
from andon.errors import ConfigError
from andon.messages import t
from andon.store import Store
from andon.store.web import WebUser

user_app = typer.Typer(
    help="Dashboard users: add (password asked, never an argument), list, disable.", no_args_is_help=True
)


def _open_store() -> Store:
    """The workspace's store, without reading andon.yaml's providers (as `andon keys` does)."""
    return Store.open(workspace=find_config(options.workspace).parent)


def _user_json(user: WebUser) -> dict[str, Any]:
    return {
        "id": user.id,
        "name": user.name,
        "role": user.role,
        "created_at": user.created_at.isoformat(),
        "last_login_at": user.last_login_at.isoformat() if user.last_login_at else None,
        "disabled_at": user.disabled_at.isoformat() if user.disabled_at else None,
    }


def _password(from_stdin: bool) -> str:
    """The password: one line of standard input, or asked twice without echo."""
    if from_stdin:
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    typed: str = typer.prompt(t("web.user.prompt"), hide_input=True, confirmation_prompt=True)
    return typed


@user_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="The sign-in name, e.g. jieun.")],
    role: Annotated[
        str, typer.Option("--role", "-r", help="viewer (reads), reviewer (decides, pulls the cord) or admin.")
    ] = "viewer",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first line of standard input.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the new user as JSON.")] = False,
) -> None:
    """Add a dashboard user; the password is asked for (or read from stdin), and kept only as an argon2 hash."""
    from andon.web.users import add_user, check_role

    check_role(role)
    password = _password(password_stdin)
    if not password:
        raise ConfigError(t("web.user.empty_password"), where="password")
    with _open_store() as store:
        user = add_user(store, name, password, role)
    if as_json:
        print_json(_user_json(user))
        return
    console.print(t("web.user.added", name=user.name, role=user.role))


@user_app.command("list")
def list_(as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False) -> None:
    """List dashboard users (never their passwords)."""
    with _open_store() as store:
        users = store.list_web_users()
    if as_json:
        print_json([_user_json(u) for u in users])
        return
    if not users:
        console.print(t("web.user.none"))
        return
    table = Listing()
    for column in ("name", "role", "created", "last_login", "state"):
        table.column(t(f"web.user.col.{column}"))
    for u in users:
        table.row(
            Text(u.name),
            u.role,
            u.created_at.isoformat(timespec="seconds"),
            u.last_login_at.isoformat(timespec="seconds") if u.last_login_at else "",
            t("web.user.disabled") if u.disabled_at else t("web.user.active"),
        )
    table.print(console)


@user_app.command("disable")
def disable(
    name: Annotated[str, typer.Argument(help="The user's sign-in name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the user as JSON.")] = False,
) -> None:
    """Disable a user: they cannot sign in, and their open sessions end now (the record is kept)."""
    with _open_store() as store:
        user = store.disable_web_user(name)
    if as_json:
        print_json(_user_json(user))
        return
    console.print(t("web.user.disabled_now", name=user.name))


def register(app: typer.Typer) -> None:
    """Add `andon user`."""
    app.add_typer(user_app, name="user")
