"""The review page works through the queue in its order: a guard's route (priority 100) before older items,
shown as urgent with its priority; ordinary items after it, oldest first (issue 15)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from tests.web.web_support import WebServer, csrf_of, queue_items, signed_in, write_web_workspace

from andon.review.queue import ReviewItem
from andon.store.models import utcnow
from andon.workspace import Workspace


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_web_workspace(tmp_path_factory.mktemp("web-review-priority"))


@pytest.fixture(scope="module")
def server(folder: Path) -> Iterator[WebServer]:
    with WebServer(folder) as running:
        yield running


def test_a_guard_routed_item_comes_first_and_is_marked_urgent(server: WebServer, folder: Path) -> None:
    older = queue_items(folder, ["오래된 메뉴", "두 번째 메뉴"])  # queued minutes before the crisis
    crisis = ReviewItem.new("menu", "guard", input={"text": "도와주세요"}, priority=100,
                            created_at=utcnow() - timedelta(seconds=5))  # fmt: skip
    with Workspace.open(folder) as ws:
        ws.store.add_review_items([crisis])
    with signed_in(server.base_url, "rita") as client:
        first = client.get("/review?feature=menu")
        assert first.status_code == 200 and crisis.id in first.text
        assert 'id="urgent"' in first.text and 'id="priority"' in first.text and "100" in first.text
        decided = client.post(f"/review/{crisis.id}/decide",
                              data={"csrf_token": csrf_of(first.text), "label": "reject"})  # fmt: skip
        assert decided.status_code in (200, 303), decided.text
        second = client.get("/review?feature=menu")
    assert older[0] in second.text  # then the oldest of the rest
    assert 'id="urgent"' not in second.text and 'id="priority"' not in second.text  # an ordinary item: priority 0
