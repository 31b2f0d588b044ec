"""The GitHub importer against recorded issue lists served on loopback: Link pages, secondary and primary rate
limits, an ETag 304 when nothing changed, and a `since=` import that updates one item and adds one."""

from __future__ import annotations

import time

import pytest
from tests.support.recorded_api import RecordedApi, Reply, recorded

from andon.okr.work import ImportContext, WorkImportError, build_importer, import_work
from andon.okr.work.github import GitHubImporter
from andon.store import Store

TOKEN = "ghp_madeup0123456789abcdef"  # made up; must never show in any message
LIST = "/api/v3/repos/acme/menu-app/issues"


class Sleeps:
    """Stands in for asyncio.sleep: records each wait and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def api() -> RecordedApi:
    with RecordedApi() as server:
        yield server  # type: ignore[misc]


def github(api: RecordedApi, sleeps: Sleeps | None = None, **options: object) -> GitHubImporter:
    settings = {"type": "github", "repo": "acme/menu-app", "base_url": f"{api.url}/api/v3", "page_size": 3,
                "points_label_prefix": "points:", **options}  # fmt: skip
    importer = build_importer(settings, ImportContext(env={"GITHUB_TOKEN": TOKEN}, sleep=sleeps or Sleeps()))
    assert isinstance(importer, GitHubImporter)
    return importer


def link(page: int, last: int = 3) -> dict[str, str]:
    """GitHub's Link header: the next pages are /repositories/ID/issues URLs carrying every parameter."""

    def url(n: int) -> str:
        return (
            f"<{{base}}/api/v3/repositories/88120417/issues?state=all&sort=updated&direction=asc&per_page=3&page={n}>"
        )

    rels = [f'{url(page + 1)}; rel="next"', f'{url(last)}; rel="last"'] if page < last else []
    rels += [f'{url(1)}; rel="first"', f'{url(page - 1)}; rel="prev"'] if page > 1 else []
    return {"Link": ", ".join(rels)} if rels else {}


def first_import() -> list[Reply]:
    return [Reply(body=recorded("github_probe"), etag=True)] + [
        Reply(body=recorded(f"github_issues_page{n}"), headers=link(n)) for n in (1, 2, 3)
    ]


async def test_pages_follow_the_link_header_and_a_secondary_limit_is_waited_out(api: RecordedApi) -> None:
    probe, page1, page2, page3 = first_import()
    secondary = Reply(403, recorded("github_secondary_limit"), {"retry-after": "3", "x-ratelimit-remaining": "4980"})
    api.play(probe, page1, secondary, page2, page3)
    sleeps = Sleeps()

    batch = await github(api, sleeps).fetch(None)

    assert [i.external_id for i in batch.items] == [f"acme/menu-app#{n}" for n in range(1, 8)]
    assert sleeps.waits == [3.0] and api.left == 0 and batch.requests == 5
    probe_req, list_req, *rest = api.requests
    assert probe_req.path == LIST and probe_req.query["direction"] == ["desc"] and probe_req.query["per_page"] == ["1"]
    assert list_req.path == LIST and list_req.query["sort"] == ["updated"] and list_req.query["direction"] == ["asc"]
    assert "since" not in list_req.query and list_req.query["state"] == ["all"]
    assert [r.query.get("page") for r in rest] == [["2"], ["2"], ["3"]]  # the limited page asked again
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in api.requests)
    assert all(r.headers["x-github-api-version"] == "2022-11-28" for r in api.requests)
    assert batch.cursor == {"etag": batch.cursor["etag"] if batch.cursor else None, "since": "2026-11-17T19:20:21Z"}
    assert batch.cursor and batch.cursor["etag"].startswith('W/"')


async def test_issues_and_pull_requests_become_work_items(api: RecordedApi) -> None:
    api.play(*first_import())
    items = {i.external_id.partition("#")[2]: i for i in (await github(api).fetch(None)).items}

    assert (items["1"].kind, items["1"].status, items["1"].done, items["1"].points) == ("issue", "closed", True, 5.0)
    assert (items["2"].kind, items["2"].status, items["2"].done) == ("pull_request", "merged", True)
    assert (items["4"].kind, items["4"].status, items["4"].done) == ("pull_request", "closed", False)  # not merged
    assert (items["5"].status, items["5"].done) == ("not_planned", False)
    assert (items["3"].status, items["3"].done, items["3"].points, items["3"].assignee) == ("open", False, 3.0, None)
    assert items["6"].labels == ("bug",) and items["6"].assignee == "jiwoo-park"
    assert items["2"].url == "https://github.com/acme/menu-app/pull/2"


async def test_pull_requests_can_be_left_out(api: RecordedApi) -> None:
    api.play(*first_import())
    batch = await github(api, pull_requests=False).fetch(None)
    assert {i.kind for i in batch.items} == {"issue"} and len(batch.items) == 4


async def test_an_exhausted_primary_limit_waits_until_its_reset(api: RecordedApi) -> None:
    reset = str(int(time.time()) - 30)  # already past: the wait is the one-second margin, whatever the clock says
    body = {"message": "API rate limit exceeded for user ID 5101.", "status": "403",
            "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}  # fmt: skip
    exhausted = Reply(
        403, body, {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset, "x-ratelimit-limit": "5000"}
    )
    probe, page1, page2, page3 = first_import()
    api.play(exhausted, probe, page1, page2, page3)
    sleeps = Sleeps()
    await github(api, sleeps).fetch(None)
    assert sleeps.waits == [1.0]


async def test_a_403_that_is_no_rate_limit_is_a_permission_error_naming_the_variable(api: RecordedApi) -> None:
    api.play(Reply(403, {"message": "Resource not accessible by personal access token", "status": "403"}))
    sleeps = Sleeps()
    with pytest.raises(WorkImportError) as denied:
        await github(api, sleeps).fetch(None)
    assert sleeps.waits == [] and "Resource not accessible" in denied.value.message
    assert "GITHUB_TOKEN" in (denied.value.hint or "") and TOKEN not in str(denied.value)


async def test_a_renamed_repository_is_followed(api: RecordedApi) -> None:
    moved = {"message": "Moved Permanently", "url": "{base}/repositories/88120417/issues", "documentation_url": "x"}
    api.play(Reply(301, moved, {"Location": "{base}/api/v3/repositories/88120417/issues?state=all&per_page=1"}))
    api.play(*first_import())
    batch = await github(api).fetch(None)
    assert len(batch.items) == 7 and api.requests[1].path == "/api/v3/repositories/88120417/issues"


async def test_anonymous_access_sends_no_token(api: RecordedApi) -> None:
    api.play(*first_import())
    settings = {"type": "github", "repo": "acme/menu-app", "base_url": f"{api.url}/api/v3", "token_env": None}
    importer = build_importer(settings, ImportContext(env={}))
    await importer.fetch(None)
    assert all("authorization" not in r.headers for r in api.requests)


async def test_etag_304_then_since_updates_one_and_adds_one(api: RecordedApi, store: Store) -> None:
    api.play(*first_import())
    first = await import_work(store, github(api))
    assert (first.inserted, first.updated, first.unchanged) == (7, 0, False)
    cursor = store.import_cursor(github(api).cursor_name)
    ids = {i.external_id: i.id for i in store.work_items("github")}

    # Nothing changed: the conditional probe gets a 304 and nothing else is asked.
    api.play(Reply(body=recorded("github_probe"), etag=True))
    before = len(api.requests)
    second = await import_work(store, github(api))
    assert second.unchanged and (second.inserted, second.updated, second.fetched) == (0, 0, 0)
    assert [r.status for r in api.requests[before:]] == [304]
    assert api.requests[before].headers["if-none-match"] == (cursor or {})["etag"]
    assert store.import_cursor(github(api).cursor_name) == cursor

    # #3 was closed and #8 opened: the probe differs, the list asks since the newest update seen.
    api.play(Reply(body=recorded("github_after_probe"), etag=True), Reply(body=recorded("github_after_page1")))
    third = await import_work(store, github(api))
    assert (third.inserted, third.updated) == (1, 1)
    assert api.requests[-1].query["since"] == ["2026-11-17T19:20:21Z"]
    items = {i.external_id: i for i in store.work_items("github")}
    assert len(items) == 8 and items["acme/menu-app#3"].done and items["acme/menu-app#3"].id == ids["acme/menu-app#3"]
    assert (store.import_cursor(github(api).cursor_name) or {})["since"] == "2026-11-27T09:30:00Z"
