"""The dossier of the demo feature: every section present, its values those of the store, in English and Korean."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import markupsafe
import pytest
from typer.testing import CliRunner

from andon.cli import app
from andon.config.loader import load_config
from andon.config.problems import InvalidConfig
from andon.config.risk import BY_ID
from andon.demo.workspace import FEATURE, create_workspace
from andon.deploy import evaluation_verdict, promote, resume_feature, stop_feature
from andon.deploy.dossier import SECTIONS, Dossier, Section, Statement, build_dossier
from andon.deploy.dossier_render import to_html, to_markdown
from andon.engine import pii_korean
from andon.engine.guard import measured_figures
from andon.evals.dataset import load_dataset
from andon.evals.evaluate import evaluate
from andon.messages import t
from andon.review.queue import suggested_label
from andon.store.records import ReviewItem, TraceRecord, new_id
from andon.versions.canonical import Version
from andon.versions.diff import diff_versions
from andon.watch.incidents import advance, list_incidents, open_incident
from andon.workspace import Workspace

RULES_VERSION = "v0-rules"
MONITOR = "menu-rejects"
OWNER = "<b>menu-ops</b> & 'team'"  # markup in what users write must come out as text
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _demo_folder(folder: Path, language: str) -> Path:
    """The demo workspace, plus a rules-only version (the demo's stand-in for the model) and a monitor."""
    create_workspace(folder, language, fresh=False)
    path = folder / "andon.yaml"
    text = path.read_text(encoding="utf-8")
    text = text.replace("    owner: menu-ops team\n", f"    owner: {json.dumps(OWNER)}\n", 1)
    text = text.replace(
        "    versions:\n      v1-naive:",
        f"    versions:\n      {RULES_VERSION}:\n        python: andon.demo.simulated:review\n      v1-naive:",
        1,
    )
    text += (
        "\nmonitors:\n"
        f"  {MONITOR}:\n"
        f"    feature: {FEATURE}\n"
        "    metric: label_share\n"
        "    source: {path: decision, label: reject}\n"
        "    detector: {type: threshold, max: 0.5}\n"
        "    owner: menu-ops\n"
    )
    path.write_text(text, encoding="utf-8")
    return folder


def _trace(route: str, user: str, at: datetime) -> TraceRecord:
    return TraceRecord(
        id=new_id("trc"), feature=FEATURE, route=route, status="ok", input_mode="hash", input=None,
        input_hash="0" * 64, created_at=at, user_id=user,
    )  # fmt: skip


def _populate(ws: Workspace) -> None:
    """What a team's work leaves behind: a run, a promotion, a stop, an incident, traces and review decisions."""
    evaluate(FEATURE, workspace=ws, versions=[RULES_VERSION], concurrency=4)
    promote(ws, FEATURE, RULES_VERSION, force=True, actor="kim", reason="rules first, model later")
    stop_feature(ws, FEATURE, reason="rejects doubled after the menu import", actor="lee")
    resume_feature(ws, FEATURE, reason="import fixed", actor="lee")
    incident = open_incident(ws, feature=FEATURE, title="reject share doubled", actor="watcher", detected_at=T0)
    advance(ws, incident.id, "mitigated", actor="lee", at=T0 + timedelta(minutes=7))
    routes = ["ai", "ai", "ai", "human", "shadow"]
    traces = [_trace(route, f"u{i}", T0 + timedelta(seconds=i)) for i, route in enumerate(routes)]
    answer = {"decision": "approve", "violations": []}
    items = [ReviewItem.new(FEATURE, "low_confidence", trace_id=tr.id, suggestion_json=answer) for tr in traces[3:]]
    items.append(ReviewItem.new(FEATURE, "shadow", trace_id=traces[0].id, suggestion_json=answer))
    ws.store.save_traces(traces, review_items=items)
    for item, label in zip(items, ["reject", "approve", "approve"], strict=True):
        ws.store.decide_review_item(
            item.id, decision={"decision": label, "violations": []}, label=label, comment=None, actor="park"
        )


@pytest.fixture
def demo(tmp_path: Path, database_url: str) -> Iterator[Workspace]:
    ws = Workspace.open(_demo_folder(tmp_path / "demo", "en"), database_url=database_url)
    try:
        _populate(ws)
        yield ws
    finally:
        ws.close()


def _texts(section: Section) -> str:
    return "\n".join("\n".join((s.text, *s.detail)) for s in section.statements)


def _ref_ids(section: Section) -> set[str]:
    return {r.id for s in section.statements for r in s.refs}


def test_every_section_holds_the_stores_values(demo: Workspace) -> None:
    dossier = build_dossier(demo, FEATURE, language="en")
    assert [s.key for s in dossier.sections] == list(SECTIONS)
    config = demo.config.features[FEATURE]

    purpose = dossier.section("purpose")
    assert config.description is not None and config.description.strip() in _texts(purpose)
    assert OWNER in _texts(purpose)
    assert config.risk is not None and f"Risk tier: {config.risk.tier}" in _texts(purpose)
    for reason in config.risk.reasons:
        assert f"{reason}: {BY_ID[reason].text('en')}" in _texts(purpose)
    live = demo.store.live_version(FEATURE)
    assert live is not None and live[0] in _ref_ids(purpose)
    lines = [r.id for s in purpose.statements for r in s.refs if r.kind == "config"]
    assert lines and all(re.fullmatch(r"andon\.yaml:\d+", line) for line in lines)

    versions = dossier.section("versions")
    history = demo.store.list_versions(FEATURE)
    assert [s.anchor for s in versions.statements] == [f"version-{r.id[:12]}" for r in history]
    for before, after, statement in zip(history, history[1:], versions.statements[1:], strict=False):
        changes = diff_versions(*(Version(FEATURE, r.name, r.id, (), r.content) for r in (before, after)))
        assert f"{len(changes)} fields changed since {before.name}" in statement.text
        assert {c.path for c in changes} <= {line.split(":")[0] for line in statement.detail}

    evaluations = dossier.section("evaluations")
    (run,) = demo.store.list_runs(FEATURE)
    assert run.id in _ref_ids(evaluations)
    verdict = evaluation_verdict(demo, FEATURE, demo.version(FEATURE, RULES_VERSION))
    assert verdict.run_id == run.id and verdict.criteria
    outcome = "passed its criteria" if verdict.passed else "failed its criteria"
    assert f"{RULES_VERSION} ({verdict.version_id[:12]}): {outcome}." in _texts(evaluations)
    for c in verdict.criteria:
        measured = "—" if c.value is None else f"{c.value:.4g}"
        assert f"{c.text}: {measured} → {'met' if c.passed else 'missed'}" in _texts(evaluations)

    promotions = dossier.section("promotions")
    (record,) = demo.store.live_history(FEATURE)
    assert f"{record.actor} promoted {RULES_VERSION}" in _texts(promotions) and record.reason in _texts(promotions)
    assert {record.version_id, f"live-{record.id}"} <= _ref_ids(promotions)
    events = demo.store.feature_events(FEATURE)
    assert [e.kind for e in events] == ["stopped", "resumed"]
    assert all(e.reason is not None and e.reason in _texts(promotions) for e in events)

    incidents = dossier.section("incidents")
    (incident,) = list_incidents(demo, feature=FEATURE)
    assert incident.id in _ref_ids(incidents)
    for stage, at in incident.stages.items():
        assert f"{stage}: {at.astimezone(UTC):%Y-%m-%d %H:%M} UTC by {incident.actors[stage]}" in _texts(incidents)

    monitors = dossier.section("monitors")
    pulls = demo.store.cord_pulls(feature=FEATURE)
    assert f"Monitor {MONITOR}: label_share watched by threshold" in _texts(monitors)
    assert f"cord pulled {len(pulls)} times" in _texts(monitors)

    data = dossier.section("data")
    assert config.dataset is not None
    cases = load_dataset(Path(config.dataset.path), demo.root)
    assert f"{len(cases.cases)} cases (sha256 {cases.sha256[:12]})" in _texts(data)
    assert f"licence: {config.dataset.licence}" in _texts(data) and f"source: {config.dataset.source}" in _texts(data)
    assert f"sha256 {run.dataset_sha256[:12]}" in _texts(data)

    oversight = dossier.section("oversight")
    routes = demo.store.trace_route_counts(FEATURE)
    people = sum(n for route, n in routes.items() if route != "ai")
    assert f"{people / sum(routes.values()):.1%} of calls went to people ({people} of {sum(routes.values())}" in (
        _texts(oversight)
    )
    decided = [ReviewItem.from_row(r) for r in demo.store.list_review_items(FEATURE, status="decided")]
    agree = [i for i in decided if suggested_label(i, config) == i.label]
    assert f"on {len(agree) / len(decided):.1%} of decided items ({len(agree)} of {len(decided)})" in _texts(oversight)
    disagreeing = {i.trace_id for i in decided if i not in agree}
    assert disagreeing and disagreeing <= _ref_ids(oversight)

    assert _texts(dossier.section("safety")) == "No safety rails configured."


def test_a_version_with_a_guard_step_shows_it_and_its_measured_figures(demo: Workspace) -> None:
    content = {"steps": [{"name": "crisis", "kind": "guard", "checks": ["self_harm"], "action": "route"}]}
    version_id = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
    demo.store.register_version(FEATURE, "v9-guarded", version_id, content)
    safety = build_dossier(demo, FEATURE, language="en").section("safety")
    assert safety.statements[0].text == f"Safety rail crisis in version v9-guarded ({version_id[:12]}):"
    assert '"checks": [' in "\n".join(safety.statements[0].detail) and version_id in _ref_ids(safety)
    assert safety.statements[1].text == "The safety rails of v9-guarded have not been measured by a finished run."


def _shown(rate: dict[str, Any]) -> str:
    """A saved rate as a reader checks it against the figures file: value [low, high] (hits/n)."""
    return f"{rate['value']:.3f} [{rate['low']:.3f}, {rate['high']:.3f}] ({rate['hits']}/{rate['n']})"


GUARDED = {"steps": [{"name": "safety", "guard": {"on": "input", "checks": {
    "crisis": {"action": "route"}, "injection": {"action": "block"}, "pii": {"action": "flag"}}}}]}  # fmt: skip


@pytest.mark.parametrize("language", ["en", "ko"])
def test_the_safety_rails_state_the_saved_figures_of_each_check_and_recogniser(demo: Workspace, language: str) -> None:
    version_id = hashlib.sha256(json.dumps(GUARDED, sort_keys=True).encode()).hexdigest()
    demo.store.register_version(FEATURE, "v9-guarded", version_id, GUARDED)
    safety = build_dossier(demo, FEATURE, language=language).section("safety")
    guard_figures, pii_figures = measured_figures(), pii_korean.measured_figures()
    assert guard_figures is not None and pii_figures is not None

    def citing(path: str) -> list[Statement]:
        return [s for s in safety.statements if ("file", path) in {(r.kind, r.id) for r in s.refs}]

    checks = citing("andon/engine/guard_figures.json")
    assert [next(c for c in ("crisis", "injection") if f" {c}:" in s.text) for s in checks] == ["crisis", "injection"]
    for statement, check in zip(checks, ("crisis", "injection"), strict=True):
        per = guard_figures["checks"][check]
        held = per["held"]
        assert _shown(held["precision"]) in statement.text and _shown(held["recall"]) in statement.text
        assert f"{held['tp'] + held['fp'] + held['fn'] + held['tn']}" in statement.text
        assert guard_figures["rules_sha256"][:12] in statement.detail[0]
        for name, row in per.items():  # every split and language, with its interval
            line = t("dossier.safety.slice", language=language, slice=name, precision=_shown(row["precision"]),
                     recall=_shown(row["recall"]))  # fmt: skip
            assert line in statement.detail

    recognisers = citing("andon/engine/pii_figures.json")
    assert len(recognisers) == 2
    addresses, names = recognisers
    adopted = pii_figures["candidates"][pii_figures["adopted"]["addresses"]]["held"]
    assert "addresses" in addresses.text and pii_figures["adopted"]["addresses"] in addresses.text
    assert _shown(adopted["precision"]) in addresses.text and _shown(adopted["recall"]) in addresses.text
    assert pii_figures["adopted"]["names"] is None
    candidates = {n: c for n, c in pii_figures["candidates"].items() if n.startswith("names/")}
    best = max(candidates, key=lambda n: candidates[n]["held"]["precision"]["value"])
    assert best in names.text and _shown(candidates[best]["held"]["precision"]) in names.text
    for name, per in candidates.items():
        assert any(name in line and _shown(per["held"]["precision"]) in line for line in names.detail)

    document, page = (
        to_markdown(build_dossier(demo, FEATURE, language=language)),
        to_html(build_dossier(demo, FEATURE, language=language)),
    )
    for shown in (_shown(guard_figures["checks"]["crisis"]["held"]["recall"]), _shown(adopted["precision"])):
        assert shown in document and shown in page
    assert "file `andon/engine/guard_figures.json`" in document
    assert "<code>file andon/engine/pii_figures.json</code>" in page


def test_a_feature_without_guards_or_masking_states_no_figures(demo: Workspace) -> None:
    safety = build_dossier(demo, FEATURE, language="en").section("safety")
    assert not any(r.kind == "file" for s in safety.statements for r in s.refs)


def test_the_document_reads_in_korean_with_the_same_records(demo: Workspace) -> None:
    english, korean = (build_dossier(demo, FEATURE, language=lang) for lang in ("en", "ko"))
    assert [s.title for s in korean.sections] == [t(f"dossier.section.{key}", language="ko") for key in SECTIONS]
    assert "위험 등급: 제한" in _texts(korean.section("purpose"))
    assert "안전장치가 설정되지 않았습니다." in _texts(korean.section("safety"))
    for key in SECTIONS:
        assert _ref_ids(korean.section(key)) == _ref_ids(english.section(key))
    assert to_markdown(korean).startswith(f"# {FEATURE} 도시에")


def _links(document: str) -> set[str]:
    return set(re.findall(r'href="([^"]+)"', document))


def test_html_escapes_what_users_wrote_and_links_each_record(demo: Workspace) -> None:
    dossier = build_dossier(demo, FEATURE, language="en")
    page = to_html(dossier, base_url="https://andon.example.com/")
    assert OWNER not in page and str(markupsafe.escape(OWNER)) in page
    assert "<script" not in page and "http://" not in page.replace("https://andon.example.com", "")
    (run,) = demo.store.list_runs(FEATURE)
    (incident,) = list_incidents(demo, feature=FEATURE)
    links = _links(page)
    assert f"https://andon.example.com/runs/{run.id}" in links
    assert f"https://andon.example.com/incidents/{incident.id}" in links
    anchors = set(re.findall(r' id="(version-[0-9a-f]{12})"', page))
    version_links = {link[1:] for link in links if link.startswith("#version-")}
    assert version_links and version_links <= anchors  # every version a statement cites is in the document


def test_markdown_keeps_sources_and_makes_user_text_inert(demo: Workspace) -> None:
    document = to_markdown(build_dossier(demo, FEATURE, language="en"))
    assert "<b>" not in document and r"\<b\>menu-ops\</b\>" in document
    (run,) = demo.store.list_runs(FEATURE)
    assert f"[run `{run.id}`](/runs/{run.id})" in document
    assert [line for line in document.splitlines() if line.startswith("## ")] == [
        f"## {t(f'dossier.section.{key}', language='en')}" for key in SECTIONS
    ]


def test_the_cli_writes_html_in_korean(demo: Workspace, tmp_path: Path) -> None:
    out = tmp_path / "dossier.html"
    args = ["--workspace", str(demo.root), "dossier", FEATURE, "--lang", "ko", "-o", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!doctype html>") and '<html lang="ko">' in page and "사람의 감독" in page


def _load_error(tmp_path: Path, risk: str) -> InvalidConfig:
    path = tmp_path / "andon.yaml"
    path.write_text(f"features:\n  menu:\n    versions:\n      v1: {{python: m:f}}\n{risk}", encoding="utf-8")
    with pytest.raises(InvalidConfig) as caught:
        load_config(path)
    return caught.value


@pytest.mark.parametrize(
    ("risk", "line", "field", "says"),
    [
        ("    risk:\n      tier: severe\n      reasons: [hiring]\n", 6, "features.menu.risk.tier", "'high-impact'"),
        ("    risk:\n      tier: limited\n      reasons:\n        - talks-with-people\n        - chatbot\n", 9,
         "features.menu.risk.reasons[1]", "not on the risk checklist"),
        ("    risk:\n      tier: limited\n      reasons: [credit]\n", 7, "features.menu.risk.reasons",
         "tier limited is below what credit implies (high-impact)"),
        ("    risk: {tier: high-impact}\n", 5, "features.menu.risk.reasons", "needs at least one reason"),
    ],
)  # fmt: skip
def test_a_bad_tier_or_reason_names_file_and_line(tmp_path: Path, risk: str, line: int, field: str, says: str) -> None:
    error = _load_error(tmp_path, risk)
    (problem,) = error.problems
    assert problem.where.startswith(f"{tmp_path / 'andon.yaml'}:{line}:") and problem.field == field
    assert says in problem.message


def test_dataset_fields_are_validated_at_their_line(tmp_path: Path) -> None:
    error = _load_error(tmp_path, "    dataset:\n      path: cases.jsonl\n      consent: maybe\n      licence: ''\n")
    found = {p.field: p.where for p in error.problems}
    assert found == {
        "features.menu.dataset.consent": f"{tmp_path / 'andon.yaml'}:7:7",
        "features.menu.dataset.licence": f"{tmp_path / 'andon.yaml'}:8:7",
    }


def test_the_demo_feature_declares_its_risk_and_its_data(tmp_path: Path) -> None:
    create_workspace(tmp_path, "en", fresh=False)
    feature = load_config(tmp_path / "andon.yaml").config.features[FEATURE]
    assert feature.risk is not None and feature.risk.tier == "limited"
    assert (
        feature.dataset is not None
        and feature.dataset.consent == "not_needed"
        and str(feature.dataset) == (feature.dataset.path)
    )


def test_a_dossier_of_an_empty_history_says_so(tmp_path: Path, database_url: str) -> None:
    with Workspace.open(_demo_folder(tmp_path / "empty", "en"), database_url=database_url) as ws:
        dossier: Dossier = build_dossier(ws, FEATURE, language="en")
    assert "never been evaluated" in _texts(dossier.section("evaluations"))
    assert _texts(dossier.section("incidents")) == "No incidents."
    assert "No production calls are stored yet." in _texts(dossier.section("oversight"))
