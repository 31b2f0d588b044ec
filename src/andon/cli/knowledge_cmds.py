"""``andon knowledge``: add documents to a knowledge base, list bases, search one."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from andon.cli._common import console, err_console, open_workspace, print_json
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
        str | None, typer.Option("--chunker", help="fixed, recursive, markdown, table or korean-sentence.")
    ] = None,
    size: Annotated[int | None, typer.Option("--size", help="Most characters per chunk.")] = None,
    overlap: Annotated[
        int | None, typer.Option("--overlap", help="Characters shared by neighbouring chunks (fixed).")
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
        if chunker is not None or size is not None or overlap is not None:
            spec = dict(base.chunker) if base else {"name": "recursive"}
            if chunker is not None and chunker != spec.get("name"):
                spec = {"name": chunker}
            spec.update({k: v for k, v in (("size", size), ("overlap", overlap)) if v is not None})
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


def register(app: typer.Typer) -> None:
    """Add the ``knowledge`` group to the CLI."""
    app.add_typer(knowledge_app, name="knowledge")
