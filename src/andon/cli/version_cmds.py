"""Commands about versions: list them, diff two."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.syntax import Syntax
from rich.text import Text

from andon.cli._common import SHORT_ID, Listing, console, open_workspace, print_json
from andon.messages import t
from andon.versions.diff import diff_versions


def versions(
    feature: Annotated[str, typer.Argument(help="Feature name.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """List every version of FEATURE: declared in andon.yaml now, and earlier ones kept in the store."""
    with open_workspace() as ws:
        declared = {v.id: v.name for v in ws.declared_versions(feature)}
        history = ws.version_history(feature)
    rows: list[dict[str, Any]] = [
        {
            "id": r.id,
            "name": r.name,
            "created_at": r.created_at.isoformat(),
            "declared": r.id in declared,
            "steps": [s["name"] for s in r.content["steps"]],
            "models": sorted({f"{s.get('provider')}/{s.get('model')}" for s in r.content["steps"]}),
        }
        for r in history
    ]
    if as_json:
        print_json(rows)
        return
    if not rows:
        console.print(t("versions.none", feature=feature))
        return
    table = Listing(title=t("versions.title", feature=feature))
    for column in ("name", "id", "created", "steps", "model", "declared"):
        table.column(t(f"versions.col.{column}"), "id" if column == "id" else "text")
    for row in rows:
        table.row(
            Text(str(row["name"])),
            str(row["id"])[:SHORT_ID],  # the short id: whole, and accepted wherever a version is named
            str(row["created_at"])[:19],
            Text(" → ".join(row["steps"])),
            Text(", ".join(row["models"])),
            t("cli.yes") if row["declared"] else t("versions.history_only"),
        )
    table.print(console)


def diff(
    feature: Annotated[str, typer.Argument(help="Feature name.")],
    a: Annotated[str, typer.Argument(help="Version name, id or id prefix.")],
    b: Annotated[str, typer.Argument(help="Version name, id or id prefix.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Show what changed from version A to version B of FEATURE."""
    with open_workspace() as ws:
        va, vb = ws.version(feature, a), ws.version(feature, b)
    changes = diff_versions(va, vb)
    if as_json:
        print_json(
            {
                "a": {"name": va.name, "id": va.id},
                "b": {"name": vb.name, "id": vb.id},
                "changes": [{"path": c.path, "before": c.before, "after": c.after} for c in changes],
            }
        )
        return
    if not changes:
        console.print(t("diff.same", a=a, b=b))
        return
    console.print(f"[bold]{va.name}[/] {va.short_id} → [bold]{vb.name}[/] {vb.short_id}")
    for change in changes:
        console.print(f"\n[bold cyan]{change.path}[/]")
        if change.lines:
            console.print(Syntax("\n".join(change.lines), "diff", theme="ansi_dark", background_color="default"))
        else:
            console.print(f"  [red]- {change.before!r}[/]\n  [green]+ {change.after!r}[/]")
