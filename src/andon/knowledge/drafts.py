"""``andon knowledge cases``: question/answer cases drafted by a configured model from a knowledge base's chunks.

One chunk per case, picked evenly through the base. The model answers in a JSON schema: a question the chunk
answers, the answer, and ``evidence`` copied from the chunk. Each draft's ``relevant:`` quotes that evidence
(checked to be in the chunk; else the chunk's section), so it names the source under any chunker and a compare
across chunkers stays fair. Drafts wait in ``<dataset>.drafts.jsonl`` marked ``"draft": true`` — the dataset
loader refuses the draft keys, so no draft is evaluated — until a person accepts them into the dataset file.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from andon.errors import ConfigError, NotFoundError, ProviderError
from andon.evals.ask import ask_model, pick_provider
from andon.evals.suggest_cases import Accepted, drafts_path, read_drafts
from andon.knowledge.chunking import citation
from andon.messages import t
from andon.review.casefile import SUFFIXES, CaseFile
from andon.store.knowledge import KnowledgeChunk
from andon.workspace import Workspace

__all__ = [
    "DRAFTED_TAG",
    "DRAFT_KEYS",
    "Drafted",
    "accept_knowledge_drafts",
    "adraft_cases",
    "check_dataset_path",
    "pick_chunks",
    "split_model",
]

DRAFTED_TAG = "knowledge-draft"
DRAFT_KEYS = ("draft", "knowledge", "source_chunk", "suggested_by")  # dropped when a person accepts the case
MAX_CASES = 200
MIN_CHARACTERS = 40  # a chunk with fewer non-space characters (a lone heading) answers no question
_SPACE = re.compile(r"\s+")

SYSTEM = """\
You write evaluation cases for a support assistant that answers from a knowledge base. You are given one \
passage of it. Write one question a customer would really ask that this passage answers, in the passage's \
language and in the customer's own words (do not copy the passage's heading), the answer as the passage \
gives it, and `evidence`: the shortest span copied exactly, character for character, from the passage that \
holds the answer. Answer with JSON only: {"question": "...", "answer": "...", "evidence": "..."}."""

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "question": {"type": "string", "minLength": 1},
        "answer": {"type": "string", "minLength": 1},
        "evidence": {"type": "string", "minLength": 1},
    },
    "required": ["question", "answer", "evidence"],
}


@dataclass(frozen=True, slots=True)
class Drafted:
    """What drafting wrote: the drafts file, the new drafts, and the chunks whose answer could not be used."""

    path: Path
    drafts: list[dict[str, Any]] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # chunk ids: no question, or one already drafted
    quoted: int = 0  # drafts whose evidence was found in the chunk (the rest name the chunk's section)


def split_model(value: str) -> tuple[str, str | None]:
    """``PROVIDER[:MODEL]`` → (provider, model or None); the model may itself hold colons."""
    provider, _, model = value.strip().partition(":")
    if not provider:
        raise ConfigError(t("know18.cases.model", value=value), where="--model", hint=t("know18.cases.model_hint"))
    return provider, model.strip() or None


def pick_chunks(chunks: Sequence[KnowledgeChunk], count: int, skip: set[str]) -> list[KnowledgeChunk]:
    """``count`` chunks spread evenly through the base (documents in order), leaving out ``skip`` and stubs."""
    usable = [c for c in chunks if c.id not in skip and len(_SPACE.sub("", c.text)) >= MIN_CHARACTERS]
    if len(usable) <= count:
        return usable
    return [usable[(i * len(usable)) // count] for i in range(count)]


def _words(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def _relevant(chunk: KnowledgeChunk, evidence: str) -> tuple[dict[str, str], bool]:
    """The ``relevant:`` entry of a draft: the evidence as a quote when the chunk holds it, else its section."""
    quote = _words(evidence)
    if len(quote) >= 4 and quote in _words(chunk.text):
        return {"quote": quote}, True
    name = chunk.source_path.rsplit("/", 1)[-1]
    if chunk.section:
        return {"section": " › ".join([name, *chunk.section])}, False
    return {"document": chunk.source_path}, False


def _draft(
    name: str, chunk: KnowledgeChunk, answer: Any, variable: str, output_id: str
) -> tuple[dict[str, Any], bool] | None:
    if not isinstance(answer, dict):
        return None
    question, reply, evidence = (str(answer.get(k) or "").strip() for k in ("question", "answer", "evidence"))
    if not question or not reply:
        return None
    relevant, quoted = _relevant(chunk, evidence)
    digest = hashlib.sha256("\0".join([name, chunk.id, question]).encode()).hexdigest()[:10]
    draft = {
        "id": f"{name}-{digest}", "vars": {variable: question}, "expected": reply, "relevant": [relevant],
        "tags": [DRAFTED_TAG], "reason": t("know18.cases.reason", citation=citation(chunk)),
        "draft": True, "knowledge": name, "source_chunk": chunk.id, "suggested_by": output_id,
    }  # fmt: skip
    return draft, quoted


def _prompt(chunk: KnowledgeChunk) -> str:
    return f"Passage ({citation(chunk)}):\n<<<\n{chunk.text.strip()}\n>>>"


def check_dataset_path(path: Path) -> None:
    """A dataset path andon can append to (YAML, JSON Lines or CSV), or a ConfigError naming ``--out``."""
    if path.suffix.lower() not in SUFFIXES:
        raise ConfigError(
            t("know18.cases.suffix", path=path, suffix=path.suffix or "(none)"),
            where="--out",
            hint=t("know18.cases.suffix_hint"),
        )


async def adraft_cases(
    ws: Workspace,
    name: str,
    out: Path,
    *,
    count: int = 10,
    provider: str | None = None,
    model: str | None = None,
    variable: str = "question",
) -> Drafted:
    """Ask the model for one case per picked chunk of ``name``; the drafts go beside ``out``, never into it."""
    try:
        return await _draft_all(ws, name, out, count, provider, model, variable)
    finally:
        await ws.aclose_providers()  # as suggest_cases: ws.close() cannot close them inside a running loop


async def _draft_all(
    ws: Workspace, name: str, out: Path, count: int, provider: str | None, model: str | None, variable: str
) -> Drafted:
    check_dataset_path(out)
    if not 1 <= count <= MAX_CASES:
        raise ConfigError(t("know18.cases.count", n=count, most=MAX_CASES), where="--count")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", variable):
        raise ConfigError(t("know18.cases.variable", name=variable), where="--var")
    if await asyncio.to_thread(ws.store.knowledge_get, name) is None:
        raise NotFoundError(t("knowledge.missing", name=name), hint=t("knowledge.missing_hint", name=name))
    try:
        chosen = pick_provider(ws, None, provider)
    except ConfigError as exc:  # the same check as `andon cases suggest`, named after this command's option
        raise ConfigError(exc.message, where="--model", hint=exc.hint) from None
    path = drafts_path(out)
    existing = read_drafts(path)
    skip = {str(d.get("source_chunk")) for d in existing if d.get("knowledge") == name}
    chunks = pick_chunks(await asyncio.to_thread(ws.store.knowledge_chunks, name), count, skip)
    if not chunks:
        raise NotFoundError(t("know18.cases.no_chunks", name=name), hint=t("know18.cases.no_chunks_hint"))
    taken = {str(d.get("id")) for d in existing}
    drafts: list[dict[str, Any]] = []
    dropped: list[str] = []
    quoted = 0
    for index, chunk in enumerate(chunks):
        try:
            answer = await ask_model(
                ws, "knowledge-cases", provider=chosen, model=model, system=SYSTEM, prompt=_prompt(chunk),
                schema=SCHEMA, context={"knowledge": name, "chunk": chunk.id}, strict=False,
            )  # fmt: skip
        except ProviderError:
            if index == 0:
                raise  # the first call failing is most likely the provider's set-up: say so, not N times
            dropped.append(chunk.id)
            continue
        made = _draft(name, chunk, answer.parsed, variable, answer.output_id)
        if made is None or made[0]["id"] in taken:
            dropped.append(chunk.id)
            continue
        taken.add(made[0]["id"])
        drafts.append(made[0])
        quoted += made[1]
    if drafts:
        await asyncio.to_thread(_write, path, existing + drafts)
    return Drafted(path, drafts, dropped, quoted)


def _write(path: Path, drafts: list[dict[str, Any]]) -> None:
    """Replace the drafts file atomically (a crash leaves the old one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in drafts), encoding="utf-8")
    os.replace(temporary, path)


def accept_knowledge_drafts(out: Path, ids: Sequence[str] | None = None) -> Accepted:
    """Append the drafts ``ids`` (all with None) to the dataset ``out`` as cases, and remove them as drafts."""
    check_dataset_path(out)
    path = drafts_path(out)
    drafts = read_drafts(path)
    if not drafts:
        raise NotFoundError(t("know18.accept.none", path=path), hint=t("know18.accept.none_hint"))
    by_id = {str(d.get("id")): d for d in drafts}
    wanted = list(by_id) if ids is None else list(ids)
    picked = [by_id[i] for i in wanted if i in by_id]
    unknown = [i for i in wanted if i not in by_id]
    file = CaseFile.open(out)
    fresh = [d for d in picked if str(d["id"]) not in file.cases]
    file.append([{k: v for k, v in d.items() if k not in DRAFT_KEYS} for d in fresh])  # checked by reading back
    done = {str(d["id"]) for d in picked}
    _write(path, [d for d in drafts if str(d.get("id")) not in done])
    there = [str(d["id"]) for d in picked if d not in fresh]
    return Accepted(out, [str(d["id"]) for d in fresh], there, unknown)
