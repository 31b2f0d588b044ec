"""The Traces page over HTTP: filters give the right rows, pages are stable, the card shows the exact prompt."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from tests.web.web_support import WebServer, signed_in, write_web_workspace
from tests.web.webtraces_support import XSS, make_trace, make_traces, save, with_provenance

from andon.citation import citation_markdown
from andon.store.models import utcnow
from andon.store.records import OutputRecord, TraceRecord
from andon.workspace import Workspace

_ROW = re.compile(r'href="/traces/(trc_[^"]+)"')
_OLDER = re.compile(r'<a href="([^"]+)" rel="next">')
_NEWER = re.compile(r'<a href="([^"]+)" rel="prev">')
PROMPT = [
    {
        "role": "system",
        "content": [{"type": "text", "text": "Check menu text. Never allow <b>phone</b> numbers & URLs."}],
    },
    {"role": "user", "content": [{"type": "text", "text": '메뉴: 김치찌개 010-1234-5678 "특가"'}]},
]


@dataclass
class Seeded:
    """What the module's workspace holds."""

    menu: list[TraceRecord]
    echo_errors: list[TraceRecord]
    tenant_kim: TraceRecord
    xss: TraceRecord
    cited: TraceRecord
    output: OutputRecord
    v2_id: str


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_web_workspace(tmp_path_factory.mktemp("web-traces"))


@pytest.fixture(scope="module")
def seeded(folder: Path) -> Seeded:
    now = utcnow()
    with Workspace.open(folder) as ws:
        v2_id = ws.version("menu", "v2").id
    menu = make_traces(120, start=now - timedelta(hours=1), ties=3)  # three traces per second: ties in paging
    echo_errors = make_traces(
        4, start=now - timedelta(hours=30), feature="echo", status="error", route="fallback", output_text=None,
        error="provider timed out", version_id=None, version_name=None,
    )  # fmt: skip
    kim = make_trace(now - timedelta(hours=2), tenant="baemin", user_id="kim", version_id=v2_id, version_name="v2",
                     output_text="bibimbap approved")  # fmt: skip
    xss = make_trace(now - timedelta(hours=3), output_text=XSS, input={"text": XSS}, user_id=XSS)
    cited, output = with_provenance(
        make_trace(now - timedelta(hours=4), output_json={"decision": "reject", "violations": ["phone_number"]},
                   output_text=None),
        PROMPT,
        {"temperature": 0, "max_tokens": 64},
    )  # fmt: skip
    save(folder, [*menu, *echo_errors, kim, xss, cited], [output])
    return Seeded(menu, echo_errors, kim, xss, cited, output, v2_id)


@pytest.fixture(scope="module")
def server(folder: Path, seeded: Seeded) -> Iterator[WebServer]:
    with WebServer(folder) as running:
        yield running


@pytest.fixture(scope="module")
def client(server: WebServer) -> Iterator[httpx.Client]:
    with signed_in(server.base_url, "vera") as viewer:  # a viewer may read traces
        yield viewer


def _ids(client: httpx.Client, url: str, **params: str) -> list[str]:
    answer = client.get(url, params=params)
    assert answer.status_code == 200, answer.text
    return _ROW.findall(answer.text)


def _newest_first(traces: list[TraceRecord]) -> list[str]:
    return [t.id for t in sorted(traces, key=lambda t: (t.created_at, t.id), reverse=True)]


def test_filters_return_the_right_rows(client: httpx.Client, seeded: Seeded) -> None:
    assert _ids(client, "/traces", feature="echo") == _newest_first(seeded.echo_errors)
    assert _ids(client, "/traces", status="error") == _newest_first(seeded.echo_errors)
    assert _ids(client, "/traces", route="fallback", feature="echo") == _newest_first(seeded.echo_errors)
    assert _ids(client, "/traces", tenant="baemin") == [seeded.tenant_kim.id]
    assert _ids(client, "/traces", user="kim") == [seeded.tenant_kim.id]
    assert _ids(client, "/traces", user="nobody") == []
    assert _ids(client, "/traces", feature="menu", version="v2") == [seeded.tenant_kim.id]
    assert _ids(client, "/traces", version=seeded.v2_id[:10]) == [seeded.tenant_kim.id]
    assert _ids(client, "/traces", q="bibimbap") == [seeded.tenant_kim.id]
    assert _ids(client, "/traces", q="violations phone") == [seeded.cited.id]
    # A time window: only the echo errors are older than a day.
    until = (utcnow() - timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M:%S")
    assert _ids(client, "/traces", until=until) == _newest_first(seeded.echo_errors)


def test_pages_walk_every_trace_once_newest_first_and_back(client: httpx.Client, seeded: Seeded) -> None:
    first = client.get("/traces", params={"feature": "menu", "q": "approve"})
    pages, text = [], first.text
    while True:
        pages.append(_ROW.findall(text))
        older = _OLDER.search(text)
        if older is None:
            break
        text = client.get(html.unescape(older.group(1))).text
    assert [len(p) for p in pages] == [50, 50, 21]  # 120 plain ones and the tenant's "bibimbap approved"
    walked = [i for p in pages for i in p]
    assert walked == _newest_first([*seeded.menu, seeded.tenant_kim])
    newer = _NEWER.search(text)
    assert newer is not None
    back = client.get(html.unescape(newer.group(1))).text
    assert _ROW.findall(back) == pages[1]
    assert 'value="approve"' in back and 'value="menu" selected' in back  # the filters ride along


def test_the_card_shows_the_exact_stored_prompt_and_its_citation(client: httpx.Client, seeded: Seeded) -> None:
    answer = client.get(f"/traces/{seeded.cited.id}")
    assert answer.status_code == 200
    page = answer.text
    shown = [html.unescape(m) for m in re.findall(r'<pre class="webtraces-message">(.*?)</pre>', page, re.S)]
    assert shown == [m["content"][0]["text"] for m in PROMPT]  # every message, character for character
    roles = re.findall(r'<h3 class="webtraces-role">(.*?)</h3>', page)
    assert roles == ["system", "user"]
    params = re.search(r'<pre class="webtraces-params">(.*?)</pre>', page, re.S)
    assert params is not None and json.loads(html.unescape(params.group(1))) == {"temperature": 0, "max_tokens": 64}
    assert seeded.output.version_id in page
    citation = citation_markdown(seeded.output, language="en")
    found = re.search(r'<textarea id="tc-citation"[^>]*>(.*?)</textarea>', page, re.S)
    assert found is not None and html.unescape(found.group(1)) == citation
    assert 'id="tc-copy"' in page and "Copy citation" in page


def test_a_trace_without_an_output_record_says_so(client: httpx.Client, seeded: Seeded) -> None:
    page = client.get(f"/traces/{seeded.echo_errors[0].id}").text
    assert "No citation" in page and "provider timed out" in page


def test_stored_markup_in_outputs_and_inputs_is_inert(client: httpx.Client, seeded: Seeded) -> None:
    for url in ("/traces?user=" + httpx.QueryParams({"u": XSS})["u"], f"/traces/{seeded.xss.id}"):
        page = client.get(url).text
        assert "<script>alert" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert" in page


def test_a_unique_prefix_opens_the_card_and_an_unknown_id_is_404(client: httpx.Client, seeded: Seeded) -> None:
    assert client.get(f"/traces/{seeded.cited.id[:-3]}").status_code == 200
    missing = client.get("/traces/trc_nothing_like_it")
    assert missing.status_code == 404
    assert "<h1>" in missing.text


@pytest.mark.parametrize(
    ("params", "field"),
    [({"since": "yesterday"}, "From (UTC)"), ({"status": "weird"}, "Status"), ({"after": "garbage"}, "after"),
     ({"version": "v9"}, "Version")],
)  # fmt: skip
def test_bad_filters_are_refused_with_the_field_named(client: httpx.Client, params: dict[str, str], field: str) -> None:
    answer = client.get("/traces", params=params)
    assert answer.status_code == 400
    assert 'role="alert"' in answer.text and field in answer.text


def test_signed_out_visitors_go_to_sign_in(server: WebServer) -> None:
    with httpx.Client(base_url=server.base_url) as anonymous:
        answer = anonymous.get("/traces/anything")
    assert answer.status_code == 303 and answer.headers["location"].startswith("/signin")


def test_the_nav_links_to_traces_in_korean_too(client: httpx.Client) -> None:
    page = client.get("/traces", headers={"accept-language": "ko"}).text
    assert '<a href="/traces" aria-current="page">트레이스</a>' in page
