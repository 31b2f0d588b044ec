"""A large run's first view does not wait for its summary: the figures are built in a background thread while
the page shows its cells and says so; the next visit shows them. The same for a comparison."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.web.web_support import WebServer, signed_in
from tests.web.webruns_support import evaluate_menu, write_runs_workspace

import andon.web.runfigures as runfigures
from andon.web.runfigures import FigureCache

MARK = "data-computing"


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    folder = write_runs_workspace(tmp_path_factory.mktemp("web-runsoon"))
    return folder, evaluate_menu(folder)


@pytest.fixture
def gate(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Summaries and comparisons block until the test opens the gate; pages wait 50 ms for them."""
    opened = threading.Event()

    def held(work: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            assert opened.wait(30)
            return work(*args, **kwargs)

        return run

    monkeypatch.setattr(runfigures, "WAIT_S", 0.05)
    monkeypatch.setattr(runfigures, "summarize_version", held(runfigures.summarize_version))
    monkeypatch.setattr(runfigures, "compare_cells", held(runfigures.compare_cells))
    yield opened
    opened.set()


def _until_ready(get: Callable[[], str]) -> str:
    for _ in range(300):
        html = get()
        if MARK not in html:
            return html
        time.sleep(0.1)
    raise AssertionError("the figures were never built")


def test_the_first_view_shows_the_cells_and_then_the_summary(folder: tuple[Path, str], gate: threading.Event) -> None:
    path, run_id = folder
    with WebServer(path) as server, signed_in(server.base_url, "vera") as client:
        first = client.get(f"/runs/{run_id}")
        assert first.status_code == 200
        assert MARK in first.text and "being worked out" in first.text
        assert "bibimbap" in first.text  # the cells are there already
        assert 'class="grid wr-summary"' not in first.text
        again = client.get(f"/runs/{run_id}").text
        assert MARK in again  # still building: one job, not a second
        gate.set()
        ready = _until_ready(lambda: client.get(f"/runs/{run_id}").text)
    assert 'class="grid wr-summary"' in ready and "data-gate=" in ready


def test_a_comparison_first_says_it_is_coming(folder: tuple[Path, str], gate: threading.Event) -> None:
    path, run_id = folder
    with WebServer(path) as server, signed_in(server.base_url, "vera") as client:
        client.cookies.set("andon_lang", "ko")
        first = client.get(f"/compare?a={run_id}").text
        assert MARK in first and "비교를 계산하는 중" in first
        gate.set()
        ready = _until_ready(lambda: client.get(f"/compare?a={run_id}").text)
    assert "wr-verdict" in ready


def test_a_failed_build_is_raised_to_the_waiting_page_and_tried_again() -> None:
    cache = FigureCache()
    calls: list[int] = []

    def broken() -> int:
        calls.append(1)
        raise ValueError("no cells")

    with pytest.raises(ValueError, match="no cells"):
        cache.soon("k", broken, wait_s=5)
    assert cache.soon("k", lambda: 7, wait_s=5) == 7 and cache.soon("k", broken, wait_s=0) == 7
    assert calls == [1]
