"""The rollout and experiment pages over HTTP: a feature links its lists; a rollout shows its plan (the current
step marked) and events with their analysis; an experiment its arms, each metric's estimate and interval (an
unbounded side as infinity) and its decision; unknown ids are 404; stored text stays inert; Korean."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.web.deploys_support import ANALYSIS, RESULTS, STEPS, XSS, write_deploys_workspace
from tests.web.web_support import WebServer, signed_in

from andon.web.i18n import Formats
from andon.workspace import Workspace


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    return write_deploys_workspace(tmp_path_factory.mktemp("web-deploys"))


@pytest.fixture(scope="module")
def server(made: tuple[Path, str, str]) -> Iterator[WebServer]:
    with WebServer(made[0]) as running:
        yield running


def test_the_feature_links_its_rollouts_and_experiments(server: WebServer, made: tuple[Path, str, str]) -> None:
    _, rollout, experiment = made
    with signed_in(server.base_url, "vera") as client:
        feature = client.get("/features/menu").text
        rollouts = client.get("/features/menu/rollouts")
        experiments = client.get("/features/menu/experiments")
        empty = client.get("/features/echo/rollouts").text
        missing = client.get("/features/nope/experiments")
    assert 'href="/features/menu/rollouts"' in feature and 'href="/features/menu/experiments"' in feature
    assert rollouts.status_code == experiments.status_code == 200
    assert f'href="/rollouts/{rollout}"' in rollouts.text and f'href="/experiments/{experiment}"' in experiments.text
    assert "No rollout of this feature yet" in empty
    assert missing.status_code == 404


def test_a_rollout_shows_its_steps_and_events(server: WebServer, made: tuple[Path, str, str]) -> None:
    folder, rollout, _ = made
    with signed_in(server.base_url, "vera") as client:
        html = client.get(f"/rollouts/{rollout}").text
    with Workspace.open(folder) as ws:
        record, events = ws.store.get_rollout(rollout), ws.store.rollout_events(rollout)
    steps = re.findall(r'<tr (?:aria-current="step" class="deploy-current")?\s*><td class="num">(\d+)</td>\s*'
                       r'<td class="num">(\d+)</td><td class="num">(\d+)</td>', html)  # fmt: skip
    assert [(int(w), int(h)) for _, w, h in steps] == [(s["weight"], s["hold"]) for s in STEPS]
    current = re.search(r'aria-current="step" class="deploy-current"><td class="num">(\d+)<', html)
    assert current is not None and int(current.group(1)) == record.step + 1
    assert re.findall(r'<tr data-event="(\w+)">', html) == [e.kind for e in reversed(events)]  # newest first
    assert "&#34;verdict&#34;: &#34;pass&#34;" in html or "&quot;verdict&quot;: &quot;pass&quot;" in html  # as JSON
    # the canary analysis reads as words and numbers, not as its JSON
    assert re.findall(r'<li data-metric="([\w_]+)" data-class="(\w+)">', html) == [
        (m.metric, m.classification) for m in ANALYSIS.results
    ]
    assert "error_rate: pass · canary 0.004 vs stable 0.005 on 480 / 9,520 calls" in html
    assert "p95_latency_ms: too few calls" in html and "score 100 (passes at 95)" in html
    assert Formats("en").percent(record.weight / 10000) in html
    assert XSS not in html and "&lt;script&gt;" in html


def test_an_experiment_shows_estimates_intervals_and_its_decision(
    server: WebServer, made: tuple[Path, str, str]
) -> None:
    _, _, experiment = made
    fmt = Formats("en")
    with signed_in(server.base_url, "vera") as client:
        html = client.get(f"/experiments/{experiment}").text
    for metric, arms in RESULTS.items():
        for arm, got in arms.items():
            row = re.search(rf'<tr data-metric="{metric}" data-arm="{arm}">(.*?)</tr>', html, re.S)
            assert row is not None
            cells = row.group(1)
            low = fmt.number(got["low"], 4) if got["low"] is not None else "−∞"
            assert fmt.number(got["estimate"], 4) in cells and f"[{low}, {fmt.number(got['high'], 4)}]" in cells
            assert fmt.number(got["p_value"], 4) in cells and fmt.number(got["n_treatment"]) in cells
    decision = html.split('class="mon-facts deploy-decision"')[1].split("</dl>")[0]
    assert "decided" in decision and "<dd>B</dd>" in decision and "B converts more" in decision


def test_unknown_ids_are_404_and_the_pages_read_in_korean(server: WebServer, made: tuple[Path, str, str]) -> None:
    _, rollout, experiment = made
    with signed_in(server.base_url, "vera") as client:
        assert client.get("/rollouts/rol_none").status_code == 404
        assert client.get("/experiments/exp_none").status_code == 404
        client.cookies.set("andon_lang", "ko")
        korean = client.get(f"/rollouts/{rollout}").text + client.get(f"/experiments/{experiment}").text
        listed = client.get("/features/echo/experiments").text
    assert "기록과 분석" in korean and "추정치" in korean and "결정" in korean
    # Stored words (status, event kinds, the outcome) read in Korean too, not as stored.
    assert "<td>시작</td>" in korean and "<td>started</td>" not in korean
    assert re.search(r'deploy-status-\w+">(진행 중|일시 정지|승격됨|롤백됨 \(저하\)|중단됨|멈춤|결정됨)<', korean)
    assert "이 기능의 실험이 아직 없습니다" in listed
