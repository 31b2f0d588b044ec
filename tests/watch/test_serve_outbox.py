"""Plain `andon serve` (no --watch) delivers the outbox: the notifications of a cord pulled by hand (`andon stop`)
and by Alertmanager reach the receiver, each stage once, and the server shuts down cleanly."""

from __future__ import annotations

import copy
import json
import signal
import time
from pathlib import Path

import httpx
from tests.support.gateway_server import GatewayServer
from tests.support.receivers import HttpReceiver
from tests.watch.test_alertmanager import PAYLOAD
from tests.watch.test_watcher_e2e import andon_cli
from tests.watch.watch_support import RULES, actors_of, incident_rows, stages_of

from andon.messages import t
from andon.watch.notify.webhook import verify_signature
from andon.workspace import Workspace

SECRET = "whsec-serve-outbox-0123456789"


def test_plain_serve_delivers_a_manual_stop_and_an_alertmanager_pull(tmp_path: Path) -> None:
    (tmp_path / "watch_rules.py").write_text(RULES, encoding="utf-8")
    hook = HttpReceiver()
    rule = {"versions": {"v1": {"python": "watch_rules:decide"}}}
    config = {
        "andon": 1,
        "notifiers": {"pager": {"type": "webhook", "url": f"{hook.url}/andon", "secret": SECRET}},
        "features": {"menu": rule, "search": rule},
        "gateway": {"auth": False},
    }
    (tmp_path / "andon.yaml").write_text(json.dumps(config), encoding="utf-8")
    alert = copy.deepcopy(PAYLOAD)
    alert["alerts"] = alert["alerts"][:1]  # feature=menu
    with hook, Workspace.open(tmp_path) as ws:
        with GatewayServer(tmp_path) as server:
            stopped = andon_cli(tmp_path, "stop", "search", "--reason", "phone numbers in answers", "--actor", "jimin")
            assert stopped.returncode == 0, stopped.stdout + stopped.stderr
            assert "andon serve" in stopped.stdout  # says where its notifications go out from
            pulled = httpx.post(f"{server.base_url}/v1/alerts/alertmanager", json=alert, timeout=30)
            assert pulled.status_code == 200, pulled.text
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and len(hook.requests) < 6:
                time.sleep(0.2)  # the server's outbox loop delivers
            process = server.process
            assert process is not None
        logs = server.logs()
        incidents = {feature: incident_rows(ws, feature) for feature in ("menu", "search")}
    # Clean: the delivery thread stopped before the process ended on the SIGTERM (re-raised, as uvicorn does).
    assert process.returncode == -signal.SIGTERM and "Traceback" not in logs, logs[-3000:]
    assert t("cordroute.serve_outbox", language="en") in logs and t("cordroute.thread_stopped", language="en") in logs
    received = sorted((r.json()["incident"]["feature"], r.json()["stage"]) for r in hook.requests)
    assert received == [(f, s) for f in ("menu", "search") for s in ("announced", "detected", "mitigated")]
    for request in hook.requests:
        headers = request.headers
        assert verify_signature(SECRET, headers["x-andon-timestamp"], request.body, headers["x-andon-signature"])
    (by_hand,), (by_alert,) = incidents["search"], incidents["menu"]
    assert stages_of(by_hand) == stages_of(by_alert) == ["detected", "mitigated", "announced"]
    assert actors_of(by_hand)["detected"] == "jimin" and actors_of(by_alert)["detected"] == "alertmanager"
    assert actors_of(by_hand)["announced"] == actors_of(by_alert)["announced"] == "notifier:pager"


def test_andon_stop_opens_an_incident_unless_told_not_to(tmp_path: Path) -> None:
    (tmp_path / "watch_rules.py").write_text(RULES, encoding="utf-8")
    rule = {"versions": {"v1": {"python": "watch_rules:decide"}}}
    config = {"andon": 1, "features": {"menu": rule, "search": rule}}
    (tmp_path / "andon.yaml").write_text(json.dumps(config), encoding="utf-8")
    quiet = andon_cli(tmp_path, "stop", "menu", "--reason", "planned maintenance", "--no-incident", "--json")
    pulled = andon_cli(tmp_path, "stop", "search", "--reason", "wrong prices", "--actor", "jimin", "--json")
    again = andon_cli(tmp_path, "stop", "search", "--reason", "still wrong", "--json")
    answers = [json.loads(run.stdout) for run in (quiet, pulled, again)]
    with Workspace.open(tmp_path) as ws:
        menu, search = incident_rows(ws, "menu"), incident_rows(ws, "search")
        stopped = ws.store.feature_stopped("menu")[0] and ws.store.feature_stopped("search")[0]
    assert stopped and menu == [] and [i.id for i in search] == [answers[1]["incident_id"]]
    assert [(a["changed"], a["incident_id"]) for a in answers] == [
        (True, None),
        (True, search[0].id),
        (False, None),  # stopped already: nothing new, no second incident
    ]
    assert stages_of(search[0]) == ["detected", "mitigated"] and actors_of(search[0])["mitigated"] == "jimin"


def test_plain_serve_started_without_notifiers_delivers_once_one_is_added_to_andon_yaml(tmp_path: Path) -> None:
    (tmp_path / "watch_rules.py").write_text(RULES, encoding="utf-8")
    hook = HttpReceiver()
    rule = {"versions": {"v1": {"python": "watch_rules:decide"}}}
    config: dict[str, object] = {"andon": 1, "features": {"menu": rule}, "gateway": {"auth": False}}
    (tmp_path / "andon.yaml").write_text(json.dumps(config), encoding="utf-8")
    with hook, GatewayServer(tmp_path) as server:
        config["notifiers"] = {"pager": {"type": "webhook", "url": f"{hook.url}/andon", "secret": SECRET}}
        (tmp_path / "andon.yaml").write_text(json.dumps(config), encoding="utf-8")
        path = "ANDON_YAML"
        followed = t("cord.reload.done", language="en", path=path, monitors=0, notifiers=1).split(path)[1]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and followed not in server.logs():
            time.sleep(0.2)  # the delivery thread notices the edit
        stopped = andon_cli(tmp_path, "stop", "menu", "--reason", "wrong prices", "--actor", "jimin")
        assert stopped.returncode == 0, stopped.stdout + stopped.stderr
        while time.monotonic() < deadline and len(hook.requests) < 3:
            time.sleep(0.2)
        logs = server.logs()
    assert followed in logs, logs[-3000:]
    assert sorted(r.json()["stage"] for r in hook.requests) == ["announced", "detected", "mitigated"]
