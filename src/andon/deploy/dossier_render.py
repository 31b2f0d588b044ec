"""The dossier as Markdown or as one self-contained HTML page (autoescaped, no CDN, styles inline)."""

from __future__ import annotations

from functools import cache

from jinja2 import Environment, PackageLoader, select_autoescape

from andon.deploy.dossier import Dossier, Ref, Statement
from andon.messages import t

FORMATS = ("md", "html")
_MD_SPECIAL = str.maketrans({c: f"\\{c}" for c in "\\`*_[]<>|"})


def _href(ref: Ref, base_url: str) -> str:
    """Where a reference points: in-document anchors stay, dashboard paths get ``base_url`` in front."""
    assert ref.href is not None
    return ref.href if ref.href.startswith("#") else base_url.rstrip("/") + ref.href


def _title(d: Dossier) -> str:
    return t("dossier.title", language=d.language, feature=d.feature, workspace=d.workspace)


def _generated(d: Dossier) -> str:
    return t("dossier.generated", language=d.language, at=d.generated_at.strftime("%Y-%m-%d %H:%M UTC"))


def to_markdown(d: Dossier, *, base_url: str = "") -> str:
    """The dossier as Markdown: a heading per section, a bullet per statement, its sources after it."""
    lines = [f"# {_md(_title(d))}", "", _md(_generated(d)), ""]
    for section in d.sections:
        lines += [f"## {_md(section.title)}", ""]
        for statement in section.statements:
            lines.extend(_md_statement(statement, d.language, base_url))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _md_statement(s: Statement, language: str, base_url: str) -> list[str]:
    anchor = f'<a id="{s.anchor}"></a>' if s.anchor else ""
    out = [f"- {anchor}{_md(s.text)}"]
    if s.refs:
        links = " ".join(
            f"[{r.kind} `{r.id}`]({_href(r, base_url)})" if r.href else f"{r.kind} `{r.id}`" for r in s.refs
        )
        out.append(f"  {t('dossier.source', language=language)}: {links}")
    if s.detail:
        fence = "````" if any("```" in line for line in s.detail) else "```"
        out += ["", f"  {fence}text", *(f"  {line}" for line in s.detail), f"  {fence}", ""]
    return out


def _md(text: str) -> str:
    """Plain text made inert in Markdown: no markup, links or raw HTML from what users wrote."""
    return " ".join(text.split()).translate(_MD_SPECIAL)


@cache
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("andon.deploy", "templates"),
        autoescape=select_autoescape(["html", "j2"], default=True),
        keep_trailing_newline=True,
    )


def to_html(d: Dossier, *, base_url: str = "") -> str:
    """The dossier as one HTML page, every value escaped by the template engine."""
    template = _environment().get_template("dossier.html.j2")
    return template.render(
        d=d,
        title=_title(d),
        generated=_generated(d),
        contents=t("dossier.contents", language=d.language),
        source=t("dossier.source", language=d.language),
        href=lambda ref: _href(ref, base_url),
    )


def render(d: Dossier, fmt: str, *, base_url: str = "") -> str:
    """The dossier in ``fmt`` (``md`` or ``html``)."""
    return to_html(d, base_url=base_url) if fmt == "html" else to_markdown(d, base_url=base_url)


__all__ = ["FORMATS", "render", "to_html", "to_markdown"]
