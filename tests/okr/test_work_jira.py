"""The Jira importer against recorded Cloud and Server/DC search responses served on loopback: pages, auth,
a 429 waited out as Retry-After says, errors that name the fix, and an incremental second import into the store."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime

import pytest
from tests.support.recorded_api import RecordedApi, Reply, recorded

from andon.errors import ConfigError
from andon.okr.work import ImportContext, WorkImportError, build_importer, import_work
from andon.okr.work.jira import JiraImporter
from andon.store import Store
from andon.store.okr import Period, Team

TOKEN = "atl-token-7f3a9c"  # made up; must never show in any message


class Sleeps:
    """Stands in for asyncio.sleep: records each wait and returns at once (the waits are asserted, not timed)."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


def cloud(api: RecordedApi, sleeps: Sleeps | None = None, **options: object) -> JiraImporter:
    settings = {"type": "jira", "url": api.url, "email": "jiwoo@acme.example", "jql": "project = MENU",
                "points_field": "customfield_10016", "page_size": 3, **options}  # fmt: skip
    importer = build_importer(settings, ImportContext(env={"JIRA_API_TOKEN": TOKEN}, sleep=sleeps or Sleeps()))
    assert isinstance(importer, JiraImporter)
    return importer


def cloud_pages() -> list[Reply]:
    return [Reply(body=recorded(f"jira_cloud_page{n}")) for n in (1, 2, 3)]


@pytest.fixture
def api() -> RecordedApi:
    with RecordedApi() as server:
        yield server  # type: ignore[misc]


async def test_cloud_reads_three_pages_by_token_and_waits_out_a_429(api: RecordedApi) -> None:
    page1, page2, page3 = cloud_pages()
    limited = Reply(429, recorded("jira_rate_limited"), {"Retry-After": "2", "X-RateLimit-Remaining": "0"})
    api.play(page1, limited, page2, page3)
    sleeps = Sleeps()

    batch = await cloud(api, sleeps).fetch(None)

    assert [i.external_id for i in batch.items] == [f"MENU-{n}" for n in range(1, 9)]
    assert sleeps.waits == [2.0] and batch.waits == (2.0,)  # Retry-After honoured once, then the same page again
    assert batch.requests == 4 and api.left == 0
    paths = {r.path for r in api.requests}
    assert paths == {"/rest/api/3/search/jql"}
    tokens = [r.query.get("nextPageToken") for r in api.requests]
    first_token = recorded("jira_cloud_page1")["nextPageToken"]
    assert tokens == [None, [first_token], [first_token], [recorded("jira_cloud_page2")["nextPageToken"]]]
    first = api.requests[0]
    assert first.query["jql"] == ["project = MENU"] and first.query["maxResults"] == ["3"]
    assert "customfield_10016" in first.query["fields"][0].split(",")
    assert (
        first.headers["authorization"] == "Basic " + base64.b64encode(f"jiwoo@acme.example:{TOKEN}".encode()).decode()
    )


async def test_cloud_issues_become_work_items(api: RecordedApi) -> None:
    api.play(*cloud_pages())
    items = {i.external_id: i for i in (await cloud(api).fetch(None)).items}

    one, two, five = items["MENU-1"], items["MENU-2"], items["MENU-5"]
    assert (one.source, one.title, one.status, one.done) == (
        "jira",
        "Auto-approve menu photos with a clear dish",
        "Done",
        True,
    )
    assert (two.status, two.done) == ("In Progress", False)  # done is the status category, not the name
    assert (items["MENU-5"].status, items["MENU-5"].done) == ("In Review", False)
    assert one.points == 5.0 and five.points is None
    assert one.labels == ("KR-2026Q4-1", "okr") and one.assignee == "Jiwoo Park" and items["MENU-3"].assignee is None
    assert one.url == f"{api.url}/browse/MENU-1" and one.kind == "story"
    assert one.updated_at == datetime(2026, 11, 2, 1, 11, 12, 345000, tzinfo=UTC)  # +0900 read as UTC


async def test_server_pages_by_start_at_against_total_with_a_bearer_token(api: RecordedApi) -> None:
    api.play(*(Reply(body=recorded(f"jira_server_page{n}")) for n in (1, 2, 3)))
    importer = build_importer(
        {
            "type": "jira",
            "flavor": "server",
            "url": api.url,
            "jql": "project = MENU",
            "token_env": "JIRA_PAT",
            "page_size": 3,
        },
        ImportContext(env={"JIRA_PAT": TOKEN}, sleep=Sleeps()),
    )

    batch = await importer.fetch(None)

    assert len(batch.items) == 8 and api.left == 0
    assert {r.path for r in api.requests} == {"/rest/api/2/search"}
    assert [r.query["startAt"] for r in api.requests] == [["0"], ["3"], ["6"]]
    assert api.requests[0].headers["authorization"] == f"Bearer {TOKEN}"
    assert batch.items[0].assignee == "Jiwoo Park" and batch.items[0].points is None  # no points field configured


def test_the_incremental_jql_keeps_the_query_and_its_order_and_reads_a_day_back() -> None:
    settings = {
        "type": "jira",
        "url": "https://x.atlassian.net",
        "email": "a@b.c",
        "jql": "project = MENU ORDER BY rank",
    }
    importer = JiraImporter(JiraImporter.Settings.model_validate(settings))
    assert importer.jql(None) == "project = MENU ORDER BY rank"
    since = {"updated": "2026-11-20T04:14:15+00:00"}
    assert importer.jql(since) == '(project = MENU) AND updated >= "2026/11/19 04:14" ORDER BY rank'
    bare = JiraImporter(JiraImporter.Settings.model_validate({"type": "jira", "url": "https://x", "email": "a@b.c"}))
    assert bare.jql(since) == 'updated >= "2026/11/19 04:14"'


async def test_a_bad_jql_names_jiras_message_and_a_401_the_token_variable(api: RecordedApi) -> None:
    api.play(Reply(400, recorded("jira_bad_jql")))
    with pytest.raises(WorkImportError) as bad:
        await cloud(api).fetch(None)
    assert "HTTP 400" in bad.value.message and "Field 'sprintt' does not exist" in bad.value.message

    api.play(Reply(401, {"errorMessages": ["You are not authenticated."], "errors": {}}))
    with pytest.raises(WorkImportError) as denied:
        await cloud(api).fetch(None)
    assert "JIRA_API_TOKEN" in (denied.value.hint or "")
    assert TOKEN not in str(denied.value)


async def test_rate_limits_give_up_after_the_retries_or_when_the_wait_is_too_long(api: RecordedApi) -> None:
    limited = Reply(429, recorded("jira_rate_limited"), {"Retry-After": "1"})
    api.play(limited, limited, limited)
    sleeps = Sleeps()
    with pytest.raises(WorkImportError) as spent:
        await cloud(api, sleeps, max_retries=2).fetch(None)
    assert sleeps.waits == [1.0, 1.0] and "3 tries" in spent.value.message

    api.play(Reply(429, recorded("jira_rate_limited"), {"Retry-After": "3600"}))
    patient = Sleeps()
    with pytest.raises(WorkImportError) as long_wait:
        await cloud(api, patient, max_wait_s=60).fetch(None)
    assert patient.waits == [] and "3600" in long_wait.value.message

    # Overloaded without saying how long: 1, 2, 4 … seconds.
    api.play(Reply(503), Reply(503), *cloud_pages())
    backing_off = Sleeps()
    assert len((await cloud(api, backing_off).fetch(None)).items) == 8
    assert backing_off.waits == [1.0, 2.0]


async def test_a_missing_token_or_email_is_a_config_error_before_any_request(api: RecordedApi) -> None:
    importer = build_importer({"type": "jira", "url": api.url, "email": "a@b.c"}, ImportContext(env={}))
    with pytest.raises(ConfigError) as missing:
        await importer.fetch(None)
    assert "JIRA_API_TOKEN" in missing.value.message and api.requests == []
    with pytest.raises(ConfigError) as no_email:
        build_importer({"type": "jira", "url": api.url})
    assert "email" in no_email.value.message


async def test_unreachable_jira_is_a_clear_error() -> None:
    with RecordedApi() as gone:
        url = gone.url
    importer = build_importer(
        {"type": "jira", "url": url, "email": "a@b.c"}, ImportContext(env={"JIRA_API_TOKEN": TOKEN})
    )
    with pytest.raises(WorkImportError) as failed:
        await importer.fetch(None)
    assert "could not be reached" in failed.value.message and TOKEN not in str(failed.value)


async def test_a_second_import_updates_one_adds_one_and_duplicates_nothing(api: RecordedApi, store: Store) -> None:
    store.upsert_team(Team(id="menu-ai", name="Menu AI"))
    store.upsert_period(Period(id="2026Q4", starts=date(2026, 10, 1), ends=date(2026, 12, 31)))
    api.play(*cloud_pages())
    first = await import_work(store, cloud(api))
    assert (first.inserted, first.updated, first.fetched) == (8, 0, 8)
    ids = {i.external_id: i.id for i in store.work_items("jira")}

    api.play(Reply(body=recorded("jira_cloud_after")))
    second = await import_work(store, cloud(api))

    assert (second.inserted, second.updated, second.fetched) == (1, 1, 2)
    items = {i.external_id: i for i in store.work_items("jira")}
    assert len(items) == 9 and len(store.work_items()) == 9
    assert items["MENU-2"].done and items["MENU-2"].status == "Done"
    assert items["MENU-2"].id == ids["MENU-2"]  # updated in place: links to it survive
    # The second search asked only for what changed since the newest update of the first (a day back).
    assert api.requests[-1].query["jql"] == ['(project = MENU) AND updated >= "2026/11/19 04:14"']
    assert store.import_cursor(cloud(api).cursor_name) == {"updated": "2026-11-26T01:00:00+00:00"}
