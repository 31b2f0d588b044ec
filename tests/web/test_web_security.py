"""The dashboard's defences over real HTTP: CSRF, roles, session fixation, lock-out, cookie flags, stored XSS."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from tests.web.web_support import PASSWORD, WebServer, csrf_of, queue_items, sign_in, signed_in, write_web_workspace

from andon import deploy
from andon.gateway.auth import hash_secret
from andon.web.sessions import CSRF_COOKIE, SESSION_COOKIE
from andon.workspace import Workspace

XSS = '<script>alert("xss")</script><img src=x onerror=alert(1)>'


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_web_workspace(tmp_path_factory.mktemp("web-security"))


@pytest.fixture(scope="module")
def server(folder: Path) -> Iterator[WebServer]:
    with WebServer(folder) as running:
        yield running


def _stopped(folder: Path, feature: str = "menu") -> bool:
    with Workspace.open(folder) as ws:
        return ws.store.feature_stopped(feature)[0]


def _resume(folder: Path) -> None:
    with Workspace.open(folder) as ws:
        deploy.resume_feature(ws, "menu", actor="tests", reason="reset")


def test_a_form_without_its_csrf_token_is_refused(server: WebServer, folder: Path) -> None:
    with signed_in(server.base_url, "rita") as client:
        refused = client.post("/features/menu/stop", data={"reason": "no token"})
        assert refused.status_code == 403
        assert "security token" in refused.text
        wrong = client.post("/features/menu/stop", data={"reason": "forged", "csrf_token": "x" * 43})
        assert wrong.status_code == 403
    assert not _stopped(folder)


def test_signing_in_needs_the_forms_token_too(server: WebServer) -> None:
    with httpx.Client(base_url=server.base_url) as client:
        refused = client.post("/signin", data={"name": "rita", "password": PASSWORD})
    assert refused.status_code == 403
    assert SESSION_COOKIE not in refused.cookies


def test_a_viewer_cannot_stop_a_feature_and_a_reviewer_can(server: WebServer, folder: Path) -> None:
    with signed_in(server.base_url, "vera") as viewer:
        page = viewer.get("/features/menu")
        assert page.status_code == 200 and 'action="/features/menu/stop"' not in page.text
        refused = viewer.post("/features/menu/stop", data={"reason": "x", "csrf_token": csrf_of(page.text)})
        assert refused.status_code == 403
    assert not _stopped(folder)
    with signed_in(server.base_url, "rita") as reviewer:
        page = reviewer.get("/features/menu")
        done = reviewer.post("/features/menu/stop", data={"reason": "wrong menus", "csrf_token": csrf_of(page.text)})
        assert done.status_code == 303
        # Promotion is an admin's: a reviewer is refused it.
        refused = reviewer.post("/features/menu/promote", data={"version": "v1", "csrf_token": csrf_of(page.text)})
        assert refused.status_code == 403
    with Workspace.open(folder) as ws:
        latest = ws.store.latest_feature_event("menu", ("stopped", "resumed"))
    assert latest is not None and latest.kind == "stopped" and latest.actor == "user:rita"
    _resume(folder)


def test_the_session_id_changes_at_sign_in(server: WebServer) -> None:
    planted = "attacker-chosen-session-id"
    with httpx.Client(base_url=server.base_url, cookies={SESSION_COOKIE: planted}) as client:
        answer = sign_in(client, "rita")
        assert answer.status_code == 303
        first = answer.cookies.get(SESSION_COOKIE)
        assert first and first != planted
        assert client.get("/").status_code == 200
        home = client.get("/")
        client.post("/signout", data={"csrf_token": csrf_of(home.text)})
        second = sign_in(client, "rita").cookies.get(SESSION_COOKIE)
        assert second and second not in (first, planted)
    for stale in (planted, first):  # the planted id was never anyone's; the first ended at sign-out
        with httpx.Client(base_url=server.base_url, cookies={SESSION_COOKIE: stale}) as other:
            assert other.get("/").status_code == 303


def test_cookies_are_httponly_lax_and_secure_behind_https(server: WebServer) -> None:
    with httpx.Client(base_url=server.base_url) as client:
        form = client.get("/signin", headers={"x-forwarded-proto": "https"})
        assert "secure" in form.headers["set-cookie"].lower()  # the pre-sign-in CSRF cookie too
        client.cookies.clear()
        client.cookies.set(CSRF_COOKIE, csrf_of(form.text))  # httpx keeps Secure cookies from plain http
        answer = client.post(
            "/signin",
            data={"csrf_token": csrf_of(form.text), "name": "rita", "password": PASSWORD},
            headers={"x-forwarded-proto": "https"},
        )
    cookie = next(v for k, v in answer.headers.multi_items() if k == "set-cookie" and v.startswith(SESSION_COOKIE))
    flags = {part.strip().lower() for part in cookie.split(";")}
    assert {"httponly", "samesite=lax", "secure"} <= flags
    with httpx.Client(base_url=server.base_url) as plain:
        answer = sign_in(plain, "rita")
    cookie = next(v for k, v in answer.headers.multi_items() if k == "set-cookie" and v.startswith(SESSION_COOKIE))
    assert "secure" not in cookie.lower() and "httponly" in cookie.lower()


def test_repeated_failures_lock_the_user_out(server: WebServer, folder: Path) -> None:
    limit = server.settings.lockout.limit
    with httpx.Client(base_url=server.base_url) as client:
        for _ in range(limit - 1):
            wrong = sign_in(client, "lena", "not the password")
            assert wrong.status_code == 401 and "wrong" in wrong.text
        locked = sign_in(client, "lena", "not the password")
        assert locked.status_code == 401 and "locked" in locked.text
        still = sign_in(client, "lena")  # the right password does not open a locked account
        assert still.status_code == 401 and "locked" in still.text
        stranger = sign_in(client, "nobody", "whatever")
        assert stranger.status_code == 401 and "wrong" in stranger.text  # unknown names are not told apart


def test_stored_xss_payloads_render_inert(server: WebServer, folder: Path) -> None:
    [review_id] = queue_items(folder, [XSS], feature="echo")
    with Workspace.open(folder) as ws:
        deploy.stop_feature(ws, "echo", reason=XSS, actor="tests")
    with signed_in(server.base_url, "rita") as client:
        pages = [client.get("/"), client.get("/features/echo"), client.get("/review?feature=echo")]
        csrf = csrf_of(pages[-1].text)
        assert review_id in pages[-1].text
        refused = client.post(
            f"/review/{review_id}/decide",
            data={"csrf_token": csrf, "label": XSS, "comment": XSS, "feature": "echo"},
        )
        pages.append(refused)
    for page in pages:
        assert "<script>alert" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;alert(&#34;xss&#34;)&lt;/script&gt;" in pages[1].text  # shown, as text
    with Workspace.open(folder) as ws:
        deploy.resume_feature(ws, "echo", actor="tests")


def test_pages_send_a_strict_content_security_policy(server: WebServer) -> None:
    with httpx.Client(base_url=server.base_url) as client:
        page = client.get("/signin")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert page.headers["x-content-type-options"] == "nosniff"


def test_an_admin_creates_an_api_key_shown_once(server: WebServer, folder: Path) -> None:
    with signed_in(server.base_url, "vera") as viewer:
        assert viewer.get("/admin/keys").status_code == 403
    with signed_in(server.base_url, "ada") as admin:
        page = admin.get("/admin/keys")
        made = admin.post(
            "/admin/keys",
            data={"csrf_token": csrf_of(page.text), "name": "checkout", "scopes": ["invoke", "review"], "rate": "60"},
        )
        assert made.status_code == 201
        secret = made.text.split('id="new-secret" class="secret" readonly value="')[1].split('"')[0]
        assert secret.startswith("andon_sk_")
        again = admin.get("/admin/keys")
    assert secret not in again.text  # never shown again
    with Workspace.open(folder) as ws:
        record = ws.store.api_key_by_hash(hash_secret(secret))
    assert record is not None and record.scopes == ("invoke", "review") and record.rate_limit_per_min == 60
    answer = httpx.get(f"{server.base_url}/v1/reviews", headers={"authorization": f"Bearer {secret}"})
    assert answer.status_code == 200


def test_two_reviewers_never_get_or_decide_the_same_item(server: WebServer, folder: Path) -> None:
    first, second = queue_items(folder, ["짜장면", "짬뽕"], feature="menu")
    with signed_in(server.base_url, "rita") as rita, signed_in(server.base_url, "ravi") as ravi:
        seen_by_rita = rita.get("/review?feature=menu").text
        seen_by_ravi = ravi.get("/review?feature=menu").text
        assert first in seen_by_rita and first not in seen_by_ravi
        assert second in seen_by_ravi
        taken = ravi.post(f"/review/{first}/decide", data={"csrf_token": csrf_of(seen_by_ravi), "label": "approve"})
        assert taken.status_code == 409 and "rita" in taken.text
        mine = rita.post(
            f"/review/{first}/decide",
            data={"csrf_token": csrf_of(seen_by_rita), "label": "reject", "codes": ["url"], "comment": "링크"},
        )
        assert mine.status_code == 303
    with Workspace.open(folder) as ws:
        item = ws.store.get_review_item(first)
    assert item["status"] == "decided" and item["decided_by"] == "user:rita"
    assert item["label"] == "reject" and item["decision"] == {"violations": ["url"], "decision": "reject"}
