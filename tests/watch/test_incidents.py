"""Incidents: the seven stages with time and actor, the timeline, impact counted from stored traces,
similar past incidents, false alarms per monitor, and the CLI face."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.support.incidents import T0, minutes, open_workspace, trace, write_workspace

from andon.errors import NotFoundError
from andon.watch import incidents as inc
from andon.workspace import Workspace


@pytest.fixture
def ws(tmp_path: Path, database_url: str) -> Iterator[Workspace]:
    with open_workspace(tmp_path / "ws", database_url) as opened:
        yield opened


def _open(ws: Workspace, **options: object) -> inc.Incident:
    values: dict[str, object] = {
        "feature": "menu", "title": "reject rate jumped", "actor": "monitor:reject-rate", "detected_at": T0,
        "monitor": "reject-rate", "metric": "label_share", "runbook": "https://wiki.example/rb", "owner": "menu-team",
    }  # fmt: skip
    values.update(options)
    return inc.open_incident(ws, **values)  # type: ignore[arg-type]


def test_seven_stages_each_with_time_and_actor_and_a_timeline(ws: Workspace) -> None:
    opened = _open(ws, details={"started_at": (T0 - minutes(3)).isoformat()})
    assert opened.stage == "detected" and opened.stages == {"detected": T0}
    assert (opened.runbook, opened.owner) == ("https://wiki.example/rb", "menu-team")

    inc.advance(ws, opened.id, "mitigated", actor="monitor:reject-rate", at=T0 + minutes(1), action="stop",
                note="stopped: calls go to the review queue")  # fmt: skip
    inc.advance(ws, opened.id, "announced", actor="kim", at=T0 + minutes(2))
    inc.advance(ws, opened.id, "confirmed", actor="kim", at=T0 + minutes(5), false_alarm=False, cause="new model")
    inc.advance(ws, opened.id, "impact_assessed", actor="kim", at=T0 + minutes(6))
    inc.advance(ws, opened.id, "decided", actor="lee", at=T0 + minutes(8), decision="rollback")
    inc.add_note(ws, opened.id, "rolled back to v1", actor="lee", at=T0 + minutes(9))
    closed = inc.advance(ws, opened.id, "closed", actor="lee", at=T0 + minutes(10))

    assert list(closed.stages) == list(inc.STAGES)
    assert closed.stages["confirmed"] == T0 + minutes(5)
    assert closed.actors == {
        "detected": "monitor:reject-rate", "mitigated": "monitor:reject-rate", "announced": "kim",
        "confirmed": "kim", "impact_assessed": "kim", "decided": "lee", "closed": "lee",
    }  # fmt: skip
    assert (closed.false_alarm, closed.cause, closed.decision) == (False, "new model", "rollback")
    assert closed.closed_at == T0 + minutes(10) and not closed.is_open
    assert closed.time_to_detect == minutes(3)
    assert closed.time_to_mitigate == minutes(1)

    events = inc.timeline(ws, opened.id)
    kinds = [(e.kind, e.stage) for e in events]
    assert kinds == [
        ("stage", "detected"), ("stage", "mitigated"), ("cord", None), ("stage", "announced"),
        ("stage", "confirmed"), ("stage", "impact_assessed"), ("stage", "decided"), ("note", None), ("stage", "closed"),
    ]  # fmt: skip
    cord = events[2]
    assert cord.data == {"action": "stop"} and cord.actor == "monitor:reject-rate"


def test_stages_never_go_backwards_and_need_what_they_decide(ws: Workspace) -> None:
    opened = _open(ws)
    inc.advance(ws, opened.id, "confirmed", actor="kim", false_alarm=True, cause="a holiday")
    with pytest.raises(inc.IncidentError, match="cannot go back"):
        inc.advance(ws, opened.id, "announced", actor="kim")
    with pytest.raises(inc.IncidentError, match="decision"):
        inc.advance(ws, opened.id, "decided", actor="kim", decision="ship-it")
    with pytest.raises(inc.IncidentError, match="takes no"):
        inc.advance(ws, opened.id, "decided", actor="kim", cause="x")
    with pytest.raises(inc.IncidentError, match="unknown stage"):
        inc.advance(ws, opened.id, "fixed", actor="kim")
    other = _open(ws, dedupe_key="other")
    with pytest.raises(inc.IncidentError, match="false alarm and its cause"):
        inc.advance(ws, other.id, "confirmed", actor="kim", false_alarm=False)
    # The cord may record `mitigated` after a person already moved the incident on.
    late = inc.advance(ws, opened.id, "mitigated", actor="monitor:reject-rate", action="stop")
    assert late.stage == "confirmed" and "mitigated" in late.stages


def test_reaching_a_stage_again_changes_nothing_but_a_second_pull_is_on_the_timeline(ws: Workspace) -> None:
    opened = _open(ws)
    first = inc.advance(ws, opened.id, "mitigated", actor="monitor:m", at=T0 + minutes(1), action="stop")
    again = inc.advance(ws, opened.id, "mitigated", actor="kim", at=T0 + minutes(4), action="stop")
    assert again.stages == first.stages and again.actors["mitigated"] == "monitor:m"
    assert [e.kind for e in inc.timeline(ws, opened.id)].count("cord") == 2


def test_dedupe_key_returns_the_open_incident_and_frees_itself_on_close(ws: Workspace) -> None:
    first = _open(ws, dedupe_key="monitor:reject-rate")
    same = _open(ws, dedupe_key="monitor:reject-rate", title="again")
    assert same.id == first.id and same.title == "reject rate jumped"
    inc.advance(ws, first.id, "closed", actor="kim")
    fresh = _open(ws, dedupe_key="monitor:reject-rate")
    assert fresh.id != first.id
    with pytest.raises(inc.IncidentError, match="closed"):
        inc.advance(ws, first.id, "decided", actor="kim", decision="resume")


def test_unknown_feature_and_naive_times_are_refused(ws: Workspace) -> None:
    with pytest.raises(NotFoundError, match="no feature 'nope'"):
        _open(ws, feature="nope")
    with pytest.raises(ValueError, match="timezone-aware"):
        _open(ws, detected_at=T0.replace(tzinfo=None))


def test_impact_is_counted_from_the_traces_of_the_window(ws: Workspace) -> None:
    start, end = T0 - minutes(10), T0 + minutes(20)
    inside = [
        trace("menu", T0 - minutes(10), user_id="u1", tenant="t1", cost=0.5, currency="KRW"),  # at start: counted
        trace("menu", T0, user_id="u1", tenant="t1", status="error", error_code="provider_error"),
        trace("menu", T0 + minutes(1), user_id="u2", tenant="t1", route="human", status="queued"),
        trace("menu", T0 + minutes(2), user_id="u3", tenant="t2", route="fallback", cost=1.25, currency="KRW"),
        trace("menu", T0 + minutes(3), user_id=None, tenant=None, cost=0.01, currency="USD"),
    ]
    outside = [
        trace("menu", T0 + minutes(20), user_id="u9", tenant="t9", cost=100.0, currency="KRW"),  # at end: not counted
        trace("menu", T0 - minutes(11), user_id="u8", tenant="t8"),
        trace("search", T0, user_id="u7", tenant="t7", route="human"),
    ]
    ws.store.save_traces([*inside, *outside])
    opened = _open(ws, details={"started_at": start.isoformat()})
    assessed = inc.advance(ws, opened.id, "impact_assessed", actor="kim", at=end)
    impact = assessed.impact
    assert impact is not None
    assert (impact.start, impact.end) == (start, end)
    assert impact.calls == len(inside)
    assert impact.users == len({t.user_id for t in inside if t.user_id})
    assert impact.tenants == len({t.tenant for t in inside if t.tenant})
    assert impact.errors == sum(t.status == "error" for t in inside)
    assert impact.to_people == sum(t.route in ("human", "fallback") for t in inside)
    assert impact.cost == {"KRW": pytest.approx(1.75), "USD": pytest.approx(0.01)}
    assert impact.unpriced == sum(t.cost is None for t in inside)


def test_similar_past_incidents_share_feature_monitor_or_metric_and_rank_by_cause(ws: Workspace) -> None:
    def past(title: str, cause: str, **options: object) -> inc.Incident:
        found = _open(ws, title=title, dedupe_key=title, **options)
        inc.advance(ws, found.id, "confirmed", actor="kim", false_alarm=False, cause=cause)
        return inc.advance(ws, found.id, "closed", actor="kim")

    near = past("a", "provider timeout on the OCR step")
    far = past("b", "holiday traffic pattern")
    other_metric = past("c", "provider timeout on the OCR step", feature="search", monitor="m2", metric="p95")
    same_metric = past("d", "provider timeout again", feature="search", monitor="m3")
    now = _open(ws, title="now", dedupe_key="now")
    now = inc.advance(ws, now.id, "confirmed", actor="kim", false_alarm=False, cause="OCR provider timeout")
    found = [(i.id, score) for i, score in inc.similar_incidents(ws, now)]
    ids = [i for i, _ in found]
    assert other_metric.id not in ids  # another feature, monitor and metric
    assert ids.index(near.id) < ids.index(far.id)
    assert same_metric.id in ids  # same metric, other feature
    assert dict(found)[far.id] < dict(found)[near.id]


def test_false_alarms_are_counted_per_monitor(ws: Workspace) -> None:
    for n, (monitor, false_alarm) in enumerate([("a", True), ("a", True), ("a", False), ("b", True), ("c", False)]):
        found = _open(ws, monitor=monitor, dedupe_key=f"k{n}")
        inc.advance(ws, found.id, "confirmed", actor="kim", false_alarm=false_alarm, cause="checked")
    _open(ws, monitor="d", dedupe_key="unconfirmed")
    assert inc.false_alarm_counts(ws) == {"a": 2, "b": 1}


def _andon(*args: str, cwd: Path, url: str, columns: int = 100) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANDON_DATABASE_URL": url, "PYTHONPATH": os.environ.get("PYTHONPATH", ""),
           "COLUMNS": str(columns)}  # fmt: skip
    return subprocess.run([sys.executable, "-m", "andon", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120, check=False)  # fmt: skip


def test_the_list_reads_at_80_columns_full_id_and_whole_words(tmp_path: Path) -> None:
    folder = write_workspace(tmp_path / "ws")
    url = f"sqlite:///{tmp_path / 'andon.db'}"
    title = "reject rate jumped from 12% to 30% on menu photos at night"
    opened = _andon("incident", "open", "menu", "--title", title, "--actor", "kim", "--json", cwd=folder, url=url)
    incident_id = json.loads(opened.stdout)["id"]
    table = _andon("incidents", cwd=folder, url=url, columns=80)
    assert table.returncode == 0, table.stderr
    assert max(len(line) for line in table.stdout.splitlines()) <= 80
    assert incident_id in table.stdout and "detected" in table.stdout
    words = {word for line in table.stdout.splitlines() for word in line.replace("│", " ").split()}
    assert set(title.split()) <= words  # no word of the title folded in two


def test_cli_lists_shows_advances_and_notes_with_full_ids(tmp_path: Path) -> None:
    folder = write_workspace(tmp_path / "ws")
    url = f"sqlite:///{tmp_path / 'andon.db'}"
    opened = _andon(
        "incident", "open", "menu", "--title", "반려율 급등", "--actor", "kim", "--json", cwd=folder, url=url
    )
    assert opened.returncode == 0, opened.stderr
    incident_id = json.loads(opened.stdout)["id"]
    listed = _andon("incidents", "--json", cwd=folder, url=url)
    assert [i["id"] for i in json.loads(listed.stdout)] == [incident_id]
    table = _andon("incidents", cwd=folder, url=url)
    assert incident_id in table.stdout  # never truncated
    confirmed = _andon("incident", "advance", incident_id, "confirmed", "--real", "--cause", "bad prompt",
                       "--actor", "lee", "--json", cwd=folder, url=url)  # fmt: skip
    assert json.loads(confirmed.stdout)["stage"] == "confirmed", confirmed.stderr
    assert _andon("incident", "note", incident_id[:10], "looked at traces", cwd=folder, url=url).returncode == 0
    shown = json.loads(_andon("incident", "show", incident_id, "--json", cwd=folder, url=url).stdout)
    assert [e["kind"] for e in shown["timeline"]] == ["stage", "stage", "note"]
    assert shown["actors"]["confirmed"] == "lee" and shown["cause"] == "bad prompt"
    again = _andon("incident", "advance", incident_id, "detected", cwd=folder, url=url)
    assert again.returncode == 0 and "already" in again.stdout
    back = _andon("incident", "advance", incident_id, "announced", cwd=folder, url=url)
    assert back.returncode == 2 and "Traceback" not in back.stderr and "cannot go back" in back.stderr
    korean = _andon("--lang", "ko", "incident", "show", incident_id, cwd=folder, url=url)
    assert "확인" in korean.stdout and "타임라인" in korean.stdout
