"""The dashboard's review page shows a parked tool call with its arguments; a reviewer edits and approves it."""

from __future__ import annotations

import html
import json
from pathlib import Path

from bench.stub import Scripted
from tests.agents.test_approval import invoke, shop
from tests.support.refund_shop import refunds, stored_steps
from tests.support.threaded_stub import ThreadedStub
from tests.support.tool_replies import tool_call, tool_calls_reply
from tests.web.web_support import PASSWORD, WebServer, csrf_of, signed_in

from andon.web.users import add_user
from andon.workspace import Workspace

__all__ = ["shop"]  # the fixture, shared with the CLI tests


def test_a_reviewer_edits_and_approves_a_parked_call_on_the_review_page(shop: tuple[Path, ThreadedStub]) -> None:
    root, stub = shop
    url = None  # the workspace's own store, which the dashboard opens too
    stub.program(
        tool_calls_reply(tool_call("c1", "refund", {"order_id": "W1", "amount": 70000})),
        Scripted(content="3000원 환불했습니다."),
    )
    parked = invoke(root, url, "W1 환불")
    assert parked.review_id is not None
    with Workspace.open(root, database_url=url) as ws:
        add_user(ws.store, "rita", PASSWORD, "reviewer")
    with WebServer(root) as server, signed_in(server.base_url, "rita") as client:
        page = client.get("/review?feature=refunds")
        assert page.status_code == 200 and parked.review_id in page.text
        assert 'id="tool-form"' in page.text and 'id="decide-form"' not in page.text
        assert '"amount": 70000' in html.unescape(page.text)
        token = csrf_of(page.text)
        bad = client.post(f"/review/{parked.review_id}/tool", data={
            "csrf_token": token, "action": "approve", "arguments": '{"order_id": "W1", "amount": 999999}'})  # fmt: skip
        assert bad.status_code == 400 and "do not fit its schema at amount" in html.unescape(bad.text)
        assert refunds(root) == []
        refused = client.post(f"/review/{parked.review_id}/tool", data={"csrf_token": token, "action": "reject"})
        assert refused.status_code == 400 and "needs a reason" in refused.text
        done = client.post(f"/review/{parked.review_id}/tool", data={
            "csrf_token": token, "action": "approve", "arguments": json.dumps({"order_id": "W1", "amount": 3000}),
            "reason": "partial refund"}, follow_redirects=False)  # fmt: skip
        assert done.status_code == 303, done.text
    assert refunds(root) == [("W1", 3000)]
    trace, steps = stored_steps(root, url, parked.trace_id)
    assert (trace["status"], trace["output_text"]) == ("ok", "3000원 환불했습니다.")
    approval = steps[0]["tools"][0]["approval"]
    assert (approval["status"], approval["by"], approval["reason"]) == ("edited", "user:rita", "partial refund")
