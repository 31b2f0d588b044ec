"""`andon keys create/list/revoke`: API keys for the gateway (the secret is shown once, then only its hash is kept)."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.text import Text

from andon.cli._common import Listing, console, err_console, options, print_json
from andon.config.loader import find_config
from andon.messages import t
from andon.store import Store
from andon.store.keys import ApiKeyRecord

keys_app = typer.Typer(help="API keys of the gateway: create (shown once), list, revoke.", no_args_is_help=True)


def _open_store() -> Store:
    """The workspace's store, without reading andon.yaml: keys need none of its providers or their secrets."""
    return Store.open(workspace=find_config(options.workspace).parent)


def _key_json(record: ApiKeyRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "name": record.name,
        "prefix": record.prefix,
        "scopes": list(record.scopes),
        "rate_limit_per_min": record.rate_limit_per_min,
        "created_at": record.created_at.isoformat(),
        "revoked_at": record.revoked_at.isoformat() if record.revoked_at else None,
    }


@keys_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="What uses the key, e.g. checkout-service.")],
    scope: Annotated[
        list[str] | None,
        typer.Option(
            "--scope",
            "-s",
            help="invoke, review, metrics, alerts, okr or admin (repeatable; admin includes all). Default: invoke.",
        ),
    ] = None,
    rate: Annotated[
        int | None,
        typer.Option("--rate", min=1, help="Requests per minute allowed (token bucket); default: unlimited."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the key and its secret as JSON.")] = False,
) -> None:
    """Create an API key; its secret is printed once and cannot be shown again."""
    from andon.gateway.auth import create_key

    with _open_store() as store:
        record, secret = create_key(store, name, scope or ["invoke"], rate)
    if as_json:
        print_json({**_key_json(record), "secret": secret})
        return
    console.print(t("keys.created", id=f"[bold]{record.id}[/]", name=record.name, scopes=", ".join(record.scopes)))
    console.print(secret, markup=False)
    err_console.print(f"[yellow]{t('keys.copy_secret')}[/]")


@keys_app.command("list")
def list_(
    show_all: Annotated[bool, typer.Option("--all", help="Include revoked keys.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """List API keys (never their secrets)."""
    with _open_store() as store:
        records = store.list_api_keys(include_revoked=show_all)
    if as_json:
        print_json([_key_json(r) for r in records])
        return
    if not records:
        console.print(t("keys.none"))
        return
    table = Listing()
    for column in ("id", "name", "prefix", "scopes", "rate", "created", "revoked"):
        table.column(t(f"keys.col.{column}"), "id" if column == "id" else "text")
    for r in records:
        table.row(
            r.id,
            Text(r.name),
            r.prefix + "…",
            ", ".join(r.scopes),
            str(r.rate_limit_per_min or "∞"),
            r.created_at.isoformat(timespec="seconds"),
            r.revoked_at.isoformat(timespec="seconds") if r.revoked_at else "",
        )
    table.print(console)


@keys_app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(help="Key id (key_…) or a unique prefix of 6+ characters.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the revoked key as JSON.")] = False,
) -> None:
    """Revoke an API key: calls with it are refused from now on (the record is kept)."""
    with _open_store() as store:
        record = store.revoke_api_key(key_id)
    if as_json:
        print_json(_key_json(record))
        return
    when = record.revoked_at.isoformat(timespec="seconds") if record.revoked_at else ""
    console.print(t("keys.revoked", id=record.id, name=record.name, when=when))


def register(app: typer.Typer) -> None:
    """Add `andon keys`."""
    app.add_typer(keys_app, name="keys")
