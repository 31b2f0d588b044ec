"""The run and comparison pages over HTTP: figures that match the store, filters and keyset paging, images, safety."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from tests.web.web_support import WebServer, signed_in
from tests.web.webruns_support import (
    CASES,
    IMG_PAYLOAD,
    SCRIPT,
    evaluate_menu,
    passes,
    png,
    synthetic_run,
    write_runs_workspace,
)

from andon.evals.model import CellResult
from andon.store.records import new_id
from andon.web.pages import compare
from andon.workspace import Workspace

N = 400  # synthetic cases: the filtered cells still span two pages of 50


@dataclass(frozen=True)
class Bench:
    server: WebServer
    folder: Path
    evaluated: str
    big: str
    other: str
    outside: str


def _outside_run(folder: Path, elsewhere: Path) -> str:
    """A run whose stored case names an image outside the workspace (as a tampered store would)."""
    elsewhere.write_bytes(png())
    run_id = new_id("run")
    with Workspace.open(folder) as ws:
        name, vid = next((v.name, v.id) for v in ws.declared_versions("menu"))
        ws.store.create_run(
            run_id=run_id, feature="menu", dataset="menu_cases.jsonl", dataset_sha256="0" * 64, repeats=1,
            currency="KRW", versions=[(name, vid)], cases=[{"id": "far", "vars": {"photo": str(elsewhere)}}],
            config={},
        )  # fmt: skip
        cell = CellResult(run_id=run_id, version_id=vid, version_name=name, case_id="far", repeat=0,
                          output_id=None, status="ok", score=1.0, passed=True)  # fmt: skip
        ws.store.save_cells([], [cell])
        ws.store.set_run_status(run_id, "finished", None)
    return run_id


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bench]:
    root = tmp_path_factory.mktemp("web-runs")
    folder = write_runs_workspace(root / "ws")
    evaluated = evaluate_menu(folder)
    big, other = synthetic_run(folder, cases=N), synthetic_run(folder, cases=N)
    outside = _outside_run(folder, root / "outside.png")
    with WebServer(folder) as server:
        yield Bench(server, folder, evaluated, big, other, outside)


@pytest.fixture
def client(bench: Bench) -> Iterator[httpx.Client]:
    with signed_in(bench.server.base_url, "vera") as signed:  # a viewer: the lowest role sees runs
        yield signed


def _cases(page: str) -> list[str]:
    return re.findall(r'<tr class="wr-(?:cell|flip)[^"]*" data-case="([^"]+)"', page)


def _row(page: str, metric: str) -> list[str]:
    """The values (without intervals) of a summary row."""
    found = re.search(rf'<tr data-metric="{re.escape(metric)}">(.*?)</tr>', page, re.S)
    assert found, metric
    return [html.unescape(v) for v in re.findall(r'<span class="wr-value">([^<]*)</span>', found.group(1))]


def _link(page: str, rel: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)" rel="{rel}">', page)
    return html.unescape(found.group(1)) if found else None


def test_the_run_page_shows_the_stores_figures_and_criteria(bench: Bench, client: httpx.Client) -> None:
    response = client.get(f"/runs/{bench.evaluated}")
    assert response.status_code == 200
    page = response.text
    with Workspace.open(bench.folder) as ws:
        tallies = ws.store.run_tallies([bench.evaluated])[bench.evaluated]
        run = ws.store.get_run(bench.evaluated)
    rates = []
    for _name, version_id in run.versions:
        cells, passed, _errors = tallies[version_id]
        assert cells == len(CASES)
        rates.append(f"{passed / cells:.0%}")
    assert _row(page, "pass_rate") == rates  # e.g. 75%: kimchi (a digit) and jjigae fail the rule
    assert "accuracy &gt;= 0.5" in page and "p95_latency_ms &lt;= 5000" in page
    criteria = re.search(r'<table class="grid wr-criteria">(.*?)</table>', page, re.S)
    assert criteria and criteria.group(1).count("verdict-passed") == 2
    assert 'data-gate="passed"' in page
    # The confusion matrix: approve→reject once (kimchi) and reject→approve once (jjigae), per version.
    confusion = re.search(r'<table class="grid wr-confusion">(.*?)</table>', page, re.S)
    assert confusion
    rows = re.findall(r'<th scope="row">(\w+)</th>(.*?)</tr>', confusion.group(1), re.S)
    counts = {label: re.findall(r">(\d+)</td>", cells) for label, cells in rows}
    assert counts == {"approve": ["4", "1"], "reject": ["1", "2"]}
    assert " ms" in _row(page, "latency_p95")[0] and _row(page, "cost_per_case")[0].startswith("₩")


def test_the_run_page_speaks_korean(bench: Bench) -> None:
    with signed_in(bench.server.base_url, "vera") as korean:
        page = korean.get(f"/runs/{bench.evaluated}", headers={"accept-language": "ko-KR"}).text
    assert "요약" in page and "혼동 행렬" in page and "실패만" in page


def test_the_failed_version_tag_filter_pages_through_exactly_the_matching_cells(
    bench: Bench, client: httpx.Client
) -> None:
    expected = [f"c{i:06d}" for i in range(N) if i % 2 == 0 and not passes(0, i)]
    assert len(expected) > 50  # more than one page
    url: str | None = f"/runs/{bench.big}?version=v1&failed=on&tag=even"
    pages: list[list[str]] = []
    while url:
        page = client.get(url).text
        pages.append(_cases(page))
        url = _link(page, "next")
    assert [c for p in pages for c in p] == expected
    assert all(len(p) == 50 for p in pages[:-1])
    # Back from the second page gives the first again.
    first = client.get(f"/runs/{bench.big}?version=v1&failed=on&tag=even").text
    back = _link(client.get(_link(first, "next") or "").text, "prev")
    assert back and _cases(client.get(back).text) == pages[0]
    assert _link(first, "prev") is None


def test_the_label_filter_counts_both_versions_cells(bench: Bench, client: httpx.Client) -> None:
    seen: list[str] = []
    url: str | None = f"/runs/{bench.big}?label=reject"
    while url:
        page = client.get(url).text
        seen += _cases(page)
        url = _link(page, "next")
    assert sorted(seen) == sorted(f"c{i:06d}" for i in range(N) if i % 2 == 0 for _ in range(2))


def test_a_filter_nothing_matches_says_so(bench: Bench, client: httpx.Client) -> None:
    page = client.get(f"/runs/{bench.big}?tag=no-such-tag").text
    assert _cases(page) == [] and "No cell matches these filters." in page


def test_a_cursor_that_is_no_cells_is_ignored(bench: Bench, client: httpx.Client) -> None:
    first = _cases(client.get(f"/runs/{bench.big}").text)
    for cursor in ("after=99999999999999999999", "before=-3", "after=%EF%BC%91"):  # the last: a full-width 1
        response = client.get(f"/runs/{bench.big}?{cursor}")
        assert response.status_code == 200 and _cases(response.text) == first


def test_an_unknown_run_is_a_404_page(client: httpx.Client) -> None:
    response = client.get("/runs/run_doesnotexist")
    assert response.status_code == 404
    assert "<h1" in response.text and "run_doesnotexist" in response.text


def test_stored_payloads_in_case_text_and_outputs_are_inert(bench: Bench, client: httpx.Client) -> None:
    evaluated = client.get(f"/runs/{bench.evaluated}?tag=security").text
    assert SCRIPT not in evaluated and "&lt;script&gt;alert(" in evaluated
    built = client.get(f"/runs/{bench.big}?tag=odd").text  # case 7 is odd: its output is the payload
    assert IMG_PAYLOAD not in built and "&lt;img src=x onerror=" in built
    flipped = client.get(f"/compare?a={bench.big}").text
    assert "<script>alert" not in flipped and IMG_PAYLOAD not in flipped
    assert "script-src 'self'" in client.get(f"/runs/{bench.big}").headers["content-security-policy"]


def test_a_viewer_sees_runs_and_a_stranger_is_sent_to_sign_in(bench: Bench, client: httpx.Client) -> None:
    assert client.get(f"/runs/{bench.big}").status_code == 200
    assert client.get(f"/compare?a={bench.big}").status_code == 200
    stranger = httpx.get(f"{bench.server.base_url}/runs/{bench.big}", follow_redirects=False)
    assert stranger.status_code == 303 and stranger.headers["location"].startswith("/signin")


def test_the_feature_page_links_its_runs(bench: Bench, client: httpx.Client) -> None:
    assert f'href="/runs/{bench.evaluated}"' in client.get("/features/menu").text


def test_a_cases_photo_is_served_as_a_thumbnail_and_nothing_else_is(bench: Bench, client: httpx.Client) -> None:
    page = client.get(f"/runs/{bench.evaluated}?tag=photo").text
    src = re.search(r'<img class="wr-thumb" src="([^"]+)"', page)
    assert src and src.group(1) == f"/runs/{bench.evaluated}/cases/photo/images/photo"
    image = client.get(src.group(1))
    assert image.status_code == 200 and image.headers["content-type"].startswith("image/")
    assert image.content[:2] == b"\xff\xd8" or image.content[:4] == b"\x89PNG"
    for bad in ("cases/photo/images/text", "cases/photo/images/nope", "cases/none/images/photo"):
        assert client.get(f"/runs/{bench.evaluated}/{bad}").status_code == 404
    assert client.get(f"/runs/{bench.evaluated}/cases/..%2F..%2Fsecret/images/photo").status_code == 404
    # A stored path outside the workspace is never read, though the file is a real image.
    assert client.get(f"/runs/{bench.outside}/cases/far/images/photo").status_code == 404


def test_comparing_two_versions_lists_the_flipped_cases_broken_first(bench: Bench, client: httpx.Client) -> None:
    flips = {f"c{i:06d}": passes(1, i) for i in range(N) if passes(0, i) != passes(1, i)}
    page = client.get(f"/compare?a={bench.big}&av=v1&bv=v2").text
    # Regressions first, then the fixed cases, each in case order.
    order = sorted(flips, key=lambda c: (flips[c], c))
    assert _cases(page) == order and not all(flips.values()) and any(flips.values())
    assert f"Flipped cases ({len(flips)})" in page
    assert re.search(r'class="card wr-verdict[^"]*" role="status">[^<]*v2', page)


def test_comparing_two_runs_pairs_their_cases(bench: Bench, client: httpx.Client) -> None:
    across = _cases(client.get(f"/compare?a={bench.big}&av=v1&b={bench.other}&bv=v2").text)
    within = _cases(client.get(f"/compare?a={bench.big}&av=v1&bv=v2").text)
    assert across == within and across
    same = client.get(f"/compare?a={bench.big}&av=v1&b={bench.other}&bv=v1").text
    assert _cases(same) == [] and "No case flipped" in same


def test_comparing_with_an_unknown_version_or_run_is_a_404(bench: Bench, client: httpx.Client) -> None:
    missing = client.get(f"/compare?a={bench.big}&av=v9")
    assert missing.status_code == 404 and "v9" in missing.text
    assert client.get("/compare?a=run_nothere").status_code == 404
    assert client.get("/compare").status_code == 200  # the form alone


def test_many_flips_are_cut_to_the_first_ones_with_the_count(
    bench: Bench, client: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(compare, "FLIPPED_SHOWN", 5)  # the server runs in this process
    flips = {f"c{i:06d}": passes(1, i) for i in range(N) if passes(0, i) != passes(1, i)}
    page = client.get(f"/compare?a={bench.big}").text
    assert _cases(page) == sorted(flips, key=lambda c: (flips[c], c))[:5]
    assert f"Showing the first 5 of {len(flips)}, broken ones first." in page
