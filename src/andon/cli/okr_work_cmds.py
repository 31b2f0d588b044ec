"""Work-item commands under `andon okr`: import jira|github|csv, link, unlink, work, kr-without-work."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from andon.cli._common import ColumnKind, Listing, console, open_workspace, print_json, run
from andon.cli._options import JsonOption
from andon.errors import ConfigError
from andon.messages import t
from andon.okr.work import (
    ImportResult,
    LinkRule,
    RuleReport,
    apply_rules,
    build_importer,
    import_work,
    key_results_without_work,
    link,
    load_rules,
    load_work_file,
    run_work_file,
    unlink,
    work,
)
from andon.okr.work.links import KINDS, LinkedWork, LinkKind
from andon.store.okr import KeyResult, WorkItem

RulesOption = Annotated[
    Path | None, typer.Option("--rules", help="A YAML file of link rules to apply after the import.")
]
KindOption = Annotated[
    str,
    typer.Option("--kind", help="measures (its progress moves the key result) or contributes (shown, not counted)."),
]

WORK_COLUMNS: tuple[tuple[str, ColumnKind], ...] = (
    ("item", "id"), ("title", "clip"), ("status", "text"), ("points", "text"), ("links", "text"),
)  # fmt: skip
KR_COLUMNS: tuple[tuple[str, ColumnKind], ...] = (
    ("kr", "id"),
    ("title", "clip"),
    ("owner", "text"),
    ("binding", "text"),
)

import_app = typer.Typer(
    name="import",
    help="Import work items from Jira, GitHub or a CSV file (again: only what changed).",
    no_args_is_help=True,
)


def register(okr_app: typer.Typer) -> None:
    """Add the work-item commands to `andon okr`."""
    okr_app.add_typer(import_app, name="import")
    okr_app.command("link")(link_cmd)
    okr_app.command("unlink")(unlink_cmd)
    okr_app.command("work")(work_cmd)
    okr_app.command("kr-without-work")(kr_without_work_cmd)


@import_app.command("jira")
def import_jira(
    url: Annotated[str, typer.Option("--url", help="Jira base URL, e.g. https://acme.atlassian.net.")],
    jql: Annotated[str, typer.Option("--jql", help="Which issues, e.g. 'project = MENU AND labels = okr'.")] = "",
    server: Annotated[
        bool, typer.Option("--server", help="Jira Server/Data Center (a personal access token) instead of Cloud.")
    ] = False,
    email: Annotated[str | None, typer.Option("--email", help="Cloud: the account e-mail of the API token.")] = None,
    token_env: Annotated[
        str, typer.Option("--token-env", help="Environment variable holding the API token or PAT.")
    ] = "JIRA_API_TOKEN",
    points_field: Annotated[
        str | None, typer.Option("--points-field", help="Story-point field id, e.g. customfield_10016.")
    ] = None,
    rules: RulesOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import the issues a JQL search finds on Jira Cloud or Server/DC."""
    options = {"type": "jira", "url": url, "jql": jql, "flavor": "server" if server else "cloud", "email": email,
               "token_env": token_env, "points_field": points_field}  # fmt: skip
    _import(options, rules, as_json, label=f"jira {url}")


@import_app.command("github")
def import_github(
    repo: Annotated[str, typer.Argument(help="The repository, owner/name.")],
    base_url: Annotated[
        str, typer.Option("--base-url", help="API root; GitHub Enterprise: https://HOST/api/v3.")
    ] = "https://api.github.com",
    token_env: Annotated[
        str, typer.Option("--token-env", help="Environment variable holding a token ('' for none).")
    ] = "GITHUB_TOKEN",
    pull_requests: Annotated[
        bool, typer.Option("--pull-requests/--no-pull-requests", help="Import pull requests as well as issues.")
    ] = True,
    label: Annotated[
        list[str] | None, typer.Option("--label", help="Only items with this label (repeatable: all of them).")
    ] = None,
    points_label_prefix: Annotated[
        str | None,
        typer.Option("--points-label-prefix", help="Points from a label such as 'points:3' (give 'points:')."),
    ] = None,
    rules: RulesOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import the issues and pull requests of a GitHub repository."""
    options = {"type": "github", "repo": repo, "base_url": base_url, "token_env": token_env or None,
               "pull_requests": pull_requests, "labels": tuple(label or ()), "points_label_prefix": points_label_prefix}  # fmt: skip
    _import(options, rules, as_json, label=f"github {repo}")


@import_app.command("csv")
def import_csv(
    path: Annotated[Path, typer.Argument(help="The CSV file: a header with id and title, then one work item a row.")],
    delimiter: Annotated[str, typer.Option("--delimiter", help="The field separator.")] = ",",
    rules: RulesOption = None,
    as_json: JsonOption = False,
) -> None:
    """Import work items from a CSV file (nothing is imported when a row is bad)."""
    _import({"type": "csv", "path": path, "delimiter": delimiter}, rules, as_json, label=str(path))


@import_app.command("run")
def import_run(
    path: Annotated[
        Path, typer.Argument(help="A work file: `importers:` (any registered type, plugins too) and `rules:`.")
    ],
    only: Annotated[
        list[str] | None, typer.Option("--only", help="Run only this importer of the file (repeatable).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Run the importers a YAML work file lists, one after another, then apply its link rules."""
    setup = load_work_file(path)
    with open_workspace() as ws:
        results, report = run(run_work_file(ws.store, setup, only or ()))
    if as_json:
        print_json({"imports": {name: _result_json(r) for name, r in results.items()}, "links": _report_json(report)})
        return
    for name, result in results.items():
        _print_result(result, name)
    _print_rules(report)


def _import(options: dict[str, Any], rules_file: Path | None, as_json: bool, *, label: str) -> None:
    rules = load_rules(rules_file) if rules_file else []
    importer = build_importer({k: v for k, v in options.items() if v is not None}, where="import")
    with open_workspace() as ws:
        result = run(import_work(ws.store, importer, rules))
    if as_json:
        print_json(_result_json(result))
        return
    _print_result(result, label)
    _print_rules(result.links)


def _print_result(result: ImportResult, label: str) -> None:
    if result.unchanged:
        console.print(t("okr_work.cli.unchanged", what=escape(label)))
    else:
        console.print(t("okr_work.cli.imported", what=escape(label), fetched=result.fetched, inserted=result.inserted,
                        updated=result.updated))  # fmt: skip
    if result.waits:
        console.print(t("okr_work.cli.waited", n=len(result.waits), seconds=round(sum(result.waits), 1)))


def link_cmd(
    work_ref: Annotated[
        str | None,
        typer.Argument(
            metavar="WORK", help="Work item: its id, source:external-id, or external id (MENU-12, owner/repo#3)."
        ),
    ] = None,
    kr_ref: Annotated[
        str | None, typer.Argument(metavar="KR", help="Key result: its key, id or a unique id prefix.")
    ] = None,
    kind: KindOption = "contributes",
    rules_file: Annotated[
        Path | None, typer.Option("--rules", help="Apply the link rules of this YAML file to every work item.")
    ] = None,
    label: Annotated[
        str | None,
        typer.Option(
            "--label",
            help="Rule: link items with a label matching this glob (e.g. 'KR-2026Q4-*'); each label names a key result unless --kr does.",
        ),
    ] = None,
    keyword: Annotated[
        str | None, typer.Option("--keyword", help="Rule: link items whose title holds these words to --kr.")
    ] = None,
    kr_option: Annotated[
        str | None, typer.Option("--kr", help="The key result a --label or --keyword rule links to.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Link WORK to KR by hand, or apply link rules (--rules FILE, --label GLOB, --keyword TEXT --kr KR)."""
    chosen = _kind(kind)
    with open_workspace() as ws:
        if work_ref is not None or kr_ref is not None:
            if work_ref is None or kr_ref is None or rules_file or label or keyword:
                raise ConfigError(t("okr_work.cli.link_usage"), hint=t("okr_work.cli.link_usage_hint"))
            item, kr, made = link(ws.store, work_ref, kr_ref, chosen)
            if as_json:
                print_json({"work_item": item.id, "key_result": kr.id, "kind": chosen, "made": made})
            else:
                key = "okr_work.cli.linked" if made else "okr_work.cli.already_linked"
                console.print(t(key, work=escape(_ref(item)), kr=escape(kr.key or kr.id), kind=chosen))
            return
        rules = _rules(rules_file, label, keyword, kr_option, chosen)
        report = apply_rules(ws.store, rules)
    if as_json:
        print_json(_report_json(report))
        return
    _print_rules(report, quiet=False)


def unlink_cmd(
    work_ref: Annotated[
        str, typer.Argument(metavar="WORK", help="Work item: its id, source:external-id, or external id.")
    ],
    kr_ref: Annotated[str, typer.Argument(metavar="KR", help="Key result: its key, id or a unique id prefix.")],
) -> None:
    """Remove the link between WORK and KR."""
    with open_workspace() as ws:
        item, kr, removed = unlink(ws.store, work_ref, kr_ref)
    key = "okr_work.cli.unlinked" if removed else "okr_work.cli.not_linked"
    console.print(t(key, work=escape(_ref(item)), kr=escape(kr.key or kr.id)))


def work_cmd(
    unlinked: Annotated[bool, typer.Option("--unlinked", help="Only work linked to no key result.")] = False,
    kr: Annotated[str | None, typer.Option("--kr", help="Only work linked to this key result.")] = None,
    source: Annotated[
        str | None, typer.Option("--source", help="Only work from this source (jira, github, csv).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List imported work items with the key results they are linked to."""
    with open_workspace() as ws:
        rows = work(ws.store, source=source, key_result=kr, unlinked=unlinked)
        names = {k.id: k.key or k.id for k in ws.store.key_results()}
    if as_json:
        print_json([_item_json(r.item) | {"links": [_link_json(x, names) for x in r.links]} for r in rows])
        return
    if not rows:
        console.print(t("okr_work.cli.no_unlinked" if unlinked else "okr_work.cli.no_work"))
        return
    listing = Listing(title=t("okr_work.cli.work_title_unlinked" if unlinked else "okr_work.cli.work_title"))
    for column, kind in WORK_COLUMNS:
        listing.column(t(f"okr_work.col.{column}"), kind)
    for r in rows:
        listing.row(escape(_ref(r.item)), escape(r.item.title), escape(_status(r.item)),
                    "" if r.item.points is None else f"{r.item.points:g}", escape(_links_text(r, names)))  # fmt: skip
    listing.print(console)


def kr_without_work_cmd(
    period: Annotated[
        str | None, typer.Option("--period", help="Only key results of this period, e.g. 2026Q4.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List key results that no work item is linked to."""
    with open_workspace() as ws:
        found = key_results_without_work(ws.store, period=period)
        any_kr = bool(found) or bool(ws.store.key_results(period=period))
    if as_json:
        print_json([_kr_json(kr) for kr in found])
        return
    if not found:
        console.print(t("okr_work.cli.every_kr_has_work" if any_kr else "okr_work.cli.no_krs"))
        return
    listing = Listing(title=t("okr_work.cli.kr_without_work_title"))
    for column, kind in KR_COLUMNS:
        listing.column(t(f"okr_work.col.{column}"), kind)
    for kr in found:
        listing.row(
            escape(kr.key or kr.id), escape(kr.title), escape(kr.owner), escape(str((kr.binding or {}).get("type", "")))
        )
    listing.print(console)


def _kind(text: str) -> LinkKind:
    for kind in KINDS:
        if text == kind:
            return kind
    raise ConfigError(t("okr_work.cli.bad_kind", kind=text), where="--kind", hint=t("okr_work.cli.bad_kind_hint"))


def _rules(path: Path | None, label: str | None, keyword: str | None, kr: str | None, kind: LinkKind) -> list[LinkRule]:
    rules = load_rules(path) if path else []
    try:
        if label is not None:
            rules.append(LinkRule(label=label, key_result=kr, kind=kind))
        if keyword is not None:
            rules.append(LinkRule(keyword=keyword, key_result=kr, kind=kind))
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise ConfigError(str(exc).splitlines()[-1].strip().removeprefix("Value error, "), where="--label/--keyword",
                          hint=t("okr_work.cli.link_usage_hint")) from None  # fmt: skip
    if not rules:
        raise ConfigError(t("okr_work.cli.link_usage"), hint=t("okr_work.cli.link_usage_hint"))
    return rules


def _print_rules(report: RuleReport, *, quiet: bool = True) -> None:
    if report.made or report.removed or not quiet:
        console.print(t("okr_work.cli.rules_applied", made=len(report.made), removed=len(report.removed)))
    for ref, items in sorted(report.unresolved.items()):
        console.print(t("okr_work.cli.unresolved", ref=escape(ref), items=escape(", ".join(sorted(set(items))))))


def _ref(item: WorkItem) -> str:
    return f"{item.source}:{item.external_id}"


def _status(item: WorkItem) -> str:
    return f"{item.status} ✓" if item.done else item.status


def _links_text(row: LinkedWork, names: dict[str, str]) -> str:
    return ", ".join(f"{names.get(x.key_result, x.key_result)} ({t(f'okr_work.kind.{x.kind}')})" for x in row.links)


def _item_json(item: WorkItem) -> dict[str, Any]:
    return {"id": item.id, "source": item.source, "external_id": item.external_id, "title": item.title,
            "status": item.status, "done": item.done, "points": item.points, "labels": list(item.labels),
            "url": item.url, "assignee": item.assignee, "kind": item.kind,
            "updated_at": item.updated_at.isoformat() if item.updated_at else None}  # fmt: skip


def _link_json(found: Any, names: dict[str, str]) -> dict[str, Any]:
    return {"key_result": found.key_result, "key": names.get(found.key_result), "kind": found.kind, "rule": found.rule}


def _kr_json(kr: KeyResult) -> dict[str, Any]:
    return {"id": kr.id, "key": kr.key, "title": kr.title, "owner": kr.owner, "objective": kr.objective,
            "binding": kr.binding}  # fmt: skip


def _report_json(report: RuleReport) -> dict[str, Any]:
    def links(found: list[Any]) -> list[dict[str, Any]]:
        return [{"work_item": x.work_item, "key_result": x.key_result, "kind": x.kind, "rule": x.rule} for x in found]

    return {"made": links(report.made), "removed": links(report.removed), "unresolved": report.unresolved}


def _result_json(result: ImportResult) -> dict[str, Any]:
    return {"source": result.source, "fetched": result.fetched, "inserted": result.inserted, "updated": result.updated,
            "unchanged": result.unchanged, "requests": result.requests, "waits": list(result.waits),
            "links": _report_json(result.links)}  # fmt: skip
