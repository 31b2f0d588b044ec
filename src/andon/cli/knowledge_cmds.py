"""``andon knowledge``: add documents to a knowledge base, list bases, search one."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.text import Text
from typer._click import Context
from typer.core import TyperGroup

from andon.cli._common import Listing, console, err_console, open_workspace, print_json, run
from andon.errors import ConfigError
from andon.knowledge import add_paths, citation, search
from andon.knowledge.retrieval import MODES, Mode
from andon.messages import t

__all__ = ["register"]

knowledge_app = typer.Typer(
    name="knowledge", help="Knowledge bases: documents → Markdown/JSON → chunks → retrieval.", no_args_is_help=True
)


@knowledge_app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Knowledge base (created on first use).")],
    paths: Annotated[list[Path], typer.Argument(help="Files or folders (folders recursively).")],
    chunker: Annotated[
        str | None, typer.Option("--chunker", help="fixed, recursive, markdown, table, korean-sentence or semantic.")
    ] = None,
    size: Annotated[int | None, typer.Option("--size", help="Most characters per chunk.")] = None,
    overlap: Annotated[
        int | None, typer.Option("--overlap", help="Characters shared by neighbouring chunks (fixed).")
    ] = None,
    percentile: Annotated[
        float | None,
        typer.Option("--percentile", help="Cut where the similarity drop reaches this percentile (semantic)."),
    ] = None,
    min_size: Annotated[
        int | None, typer.Option("--min-size", help="Fewest characters before a cut at a drop (semantic).")
    ] = None,
    embed: Annotated[
        bool, typer.Option("--embed/--no-embed", help="Embed new chunks now (else on the first dense search).")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Parse, chunk and store files; unchanged files are skipped, a file that fails is named with why."""
    spec: dict[str, Any] | None = None
    with open_workspace() as ws:
        base = ws.store.knowledge_get(name)
        given = {"size": size, "overlap": overlap, "percentile": percentile, "min_size": min_size}
        if chunker is not None or any(v is not None for v in given.values()):
            spec = dict(base.chunker) if base else {"name": "recursive"}
            if chunker is not None and chunker != spec.get("name"):
                spec = {"name": chunker}
            spec.update({k: v for k, v in given.items() if v is not None})
        embedder = None
        if embed:
            from andon.embeddings import default_embedder

            embedder = default_embedder()
        report = add_paths(ws.store, name, paths, chunker=spec, embedder=embedder)
    if as_json:
        print_json({
            "added": report.added, "unchanged": report.unchanged, "rechunked": report.rechunked,
            "failed": [{"path": p, "why": w} for p, w in report.failed],
            "notes": [{"path": p, "note": n} for p, n in report.notes],
            "chunks": report.chunks, "content_hash": report.content_hash,
        })  # fmt: skip
    else:
        console.print(
            t(
                "knowledge.cli.added",
                name=name,
                added=len(report.added),
                unchanged=len(report.unchanged),
                chunks=report.chunks,
                hash=report.content_hash[:12],
            )
        )
        for path, note in report.notes:
            console.print(f"  {escape(path)}: {escape(note)}", style="dim")
        for path, why in report.failed:
            err_console.print(f"  [red]{escape(t('knowledge.cli.failed'))}[/] {escape(path)}: {escape(why)}")
    if report.failed:
        raise typer.Exit(1)


@knowledge_app.command("search")
def search_cmd(
    name: Annotated[str, typer.Argument(help="Knowledge base.")],
    query: Annotated[str, typer.Argument(help="What to look for.")],
    k: Annotated[int, typer.Option("-k", min=1, max=100, help="How many chunks.")] = 5,
    mode: Annotated[str, typer.Option("--mode", help="bm25, dense or hybrid (reciprocal rank fusion).")] = "hybrid",
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """The best chunks for a query, each with where it came from."""
    if mode not in MODES:
        raise ConfigError(t("knowledge.mode.bad", mode=mode), where="--mode")
    chosen: Mode = mode
    with open_workspace() as ws:
        hits = search(ws.store, name, query, k=k, mode=chosen)
    if as_json:
        print_json([
            {"id": h.chunk.id, "score": h.score, "bm25_rank": h.bm25_rank, "dense_rank": h.dense_rank,
             "source": h.chunk.source_path, "section": h.chunk.section, "anchors": h.chunk.anchors,
             "citation": citation(h.chunk), "text": h.chunk.text}
            for h in hits
        ])  # fmt: skip
        return
    if not hits:
        console.print(t("knowledge.cli.no_hits"))
    for rank, hit in enumerate(hits, start=1):
        console.print(f"[bold]{rank}.[/] {escape(citation(hit.chunk))}  [dim]{hit.chunk.id[:12]} {hit.score:.4f}[/]")
        console.print("   " + escape(" ".join(hit.chunk.text.split())[:200]))


@knowledge_app.command("list")
def list_cmd(as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False) -> None:
    """Knowledge bases with their chunker, documents and content hash."""
    with open_workspace() as ws:
        rows = [(b, len(ws.store.knowledge_documents(b.name))) for b in ws.store.knowledge_list()]
    if as_json:
        print_json(
            [{"name": b.name, "chunker": b.chunker, "documents": n, "content_hash": b.content_hash} for b, n in rows]
        )
        return
    for base, count in rows:
        console.print(f"{escape(base.name)}  {count}  {escape(str(base.chunker))}  {base.content_hash[:12]}")


class _DraftUnlessNamed(TyperGroup):
    """``cases NAME …`` drafts and ``cases accept FILE …`` accepts: a first word naming no subcommand drafts."""

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        """Put ``draft`` in front of a knowledge base name."""
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["draft", *args]
        return super().parse_args(ctx, args)


cases_app = typer.Typer(
    name="cases",
    cls=_DraftUnlessNamed,
    help="Draft question/answer cases from a knowledge base with a model; accept them into a dataset.",
    no_args_is_help=True,
)


@cases_app.command("draft")
def cases_draft(
    name: Annotated[str, typer.Argument(help="Knowledge base to draft cases from.")],
    model: Annotated[str, typer.Option("--model", help="PROVIDER[:MODEL] from andon.yaml that writes the cases.")],
    out: Annotated[Path, typer.Option("--out", help="Dataset the cases go into once accepted (.yaml, .jsonl, .csv).")],
    count: Annotated[int, typer.Option("--count", help="How many cases (one chunk each).")] = 10,
    var: Annotated[str, typer.Option("--var", help="Input variable that holds the question.")] = "question",
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Draft cases from chunks (relevant: their source); drafts wait beside the dataset until accepted."""
    from andon.knowledge.drafts import adraft_cases, split_model

    provider, model_name = split_model(model)
    with open_workspace() as ws:
        result = run(adraft_cases(ws, name, out, count=count, provider=provider, model=model_name, variable=var))
    if as_json:
        print_json({"path": str(result.path), "drafts": result.drafts, "dropped": result.dropped,
                    "quoted": result.quoted})  # fmt: skip
        return
    if result.drafts:
        table = Listing()
        table.column(t("know18.col.id"), "id")
        table.column(t("know18.col.question"))
        table.column(t("know18.col.relevant"), "clip")
        for draft in result.drafts:
            question = str(next(iter(draft["vars"].values())))
            table.row(
                escape(str(draft["id"])), escape(question), escape(json.dumps(draft["relevant"][0], ensure_ascii=False))
            )
        table.print(console)
    console.print(
        Text(t("know18.cli.drafted", n=len(result.drafts), path=str(result.path), quoted=result.quoted, out=str(out)))
    )
    if result.dropped:
        console.print(Text(t("know18.cli.dropped", n=len(result.dropped))), style="dim")


@cases_app.command("accept")
def cases_accept(
    file: Annotated[Path, typer.Argument(help="The dataset given to --out when drafting.")],
    ids: Annotated[list[str] | None, typer.Argument(help="Draft ids to accept.")] = None,
    every: Annotated[bool, typer.Option("--all", help="Accept every draft.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print as JSON.")] = False,
) -> None:
    """Append drafted cases to the dataset (in its own format) and remove them as drafts."""
    from andon.knowledge.drafts import accept_knowledge_drafts

    if not ids and not every:
        raise ConfigError(t("know18.accept.what"), where="IDS")
    result = accept_knowledge_drafts(file, None if every else ids)
    if as_json:
        print_json({"dataset": str(result.dataset), "accepted": result.accepted,
                    "already_there": result.already_there, "unknown": result.unknown})  # fmt: skip
    else:
        if result.accepted:
            console.print(Text(t("know18.cli.accepted", n=len(result.accepted), path=str(result.dataset))))
        if result.already_there:
            console.print(Text(t("know18.cli.already", ids=", ".join(result.already_there))), style="dim")
        if result.unknown:
            console.print(Text(t("know18.cli.unknown", ids=", ".join(result.unknown))), style="yellow")
    if result.unknown:
        raise typer.Exit(1)


knowledge_app.add_typer(cases_app, name="cases")


def register(app: typer.Typer) -> None:
    """Add the ``knowledge`` group to the CLI."""
    app.add_typer(knowledge_app, name="knowledge")
