"""Citation cards: whoever quotes an AI output can attach the exact prompt that made it."""

from __future__ import annotations

import json
from typing import Any

from andon.messages import t
from andon.store.records import OutputRecord

_FENCE = "````"


def _message_text(message: dict[str, Any]) -> str:
    parts = []
    for part in message["content"]:
        if part["type"] == "text":
            parts.append(part["text"])
        else:
            url = part["url"]
            parts.append(f"[image: {url[:40]}…]" if url.startswith("data:") else f"[image: {url}]")
    return "\n".join(parts)


def _endpoint_note(record: OutputRecord) -> str:
    """`` @ URL`` of the last step's endpoint (credentials were never stored), or nothing for a default one."""
    endpoints = [s.get("endpoint") or {} for s in record.steps]
    url = next((e.get("base_url") for e in reversed(endpoints) if e.get("base_url")), None)
    return f" @ {url}" if url else ""


def _trust_lines(record: OutputRecord, lang: str | None) -> list[str]:
    """The AI notice the answer carried and what masking replaced before the provider call (issue 15)."""
    lines = []
    if record.context.get("ai_generated"):
        made = t("trust.cite.ai_made", language=lang, header="X-Andon-AI-Generated")
        lines.append(f"- **{t('trust.cite.ai_notice', language=lang)}**: {made}")
    counts: dict[str, int] = {}
    for step in record.steps:
        for word, count in ((step.get("masking") or {}).get("placeholders") or {}).items():
            counts[word] = max(counts.get(word, 0), int(count))  # each step's counts are the call's so far
    if any(step.get("masking") for step in record.steps):
        listed = ", ".join(f"{word} × {count}" for word, count in sorted(counts.items())) or "0"
        masked = t("trust.cite.masked_counts", language=lang, counts=listed)
        lines.append(f"- **{t('trust.cite.masked', language=lang)}**: {masked}")
    return lines


def citation_markdown(record: OutputRecord, language: str | None = None) -> str:
    """A Markdown card: output, prompt (every message), model, parameters, version and time."""
    lang = language
    params = json.dumps(record.params, ensure_ascii=False, sort_keys=True)
    output = json.dumps(record.output_json, ensure_ascii=False, indent=2) if record.output_json is not None else None
    lines = [
        f"### {t('cite.title', language=lang, output_id=record.id)}",
        "",
        f"- **{t('cite.version', language=lang)}**: `{record.feature}` "
        f"{record.context.get('version_name', '')} `{record.version_id[:12]}` (sha256 `{record.version_id}`)",
        f"- **{t('cite.model', language=lang)}**: {record.provider} / {record.model}{_endpoint_note(record)}",
        f"- **{t('cite.parameters', language=lang)}**: `{params}`",
        f"- **{t('cite.made', language=lang)}**: {record.started_at.isoformat()} → {record.finished_at.isoformat()}"
        f" ({record.latency_ms:.0f} ms, {record.input_tokens}+{record.output_tokens} tokens)",
        *_trust_lines(record, lang),
        "",
        f"#### {t('cite.prompt', language=lang)}",
        "",
    ]
    for message in record.messages:
        lines += [f"**{message['role']}**", "", _FENCE + "text", _message_text(message), _FENCE, ""]
    if len(record.steps) > 1:
        lines.append(
            "Steps: "
            + " → ".join(
                f"{s['name']} ({s['provider']}/{s['model']}"
                + (f" @ {s['endpoint']['base_url']}" if (s.get("endpoint") or {}).get("base_url") else "")
                + ")"
                for s in record.steps
            )
        )
        lines.append("")
    for step in record.steps:  # a retrieve step's chunks: what the answer was given to read (issue 18)
        if step.get("provider") == "retrieve" and isinstance(step.get("parsed"), dict):
            found = step["parsed"]
            ids = ", ".join(f"`{i}`" for i in found.get("chunk_ids", [])) or "-"
            hash_ = str(found.get("content_hash") or "")[:12]
            fields = {"step": step["name"], "knowledge": step["model"], "hash": hash_, "ids": ids}
            lines += [t("knowledge.cite.chunks", language=lang, **fields), ""]
    lines += [f"#### {t('cite.output', language=lang)}", ""]
    if record.status == "error":
        lines += [f"**error**: {record.error}", ""]
    lines += [_FENCE + ("json" if output else "text"), output or (record.output_text or ""), _FENCE, ""]
    return "\n".join(lines)
