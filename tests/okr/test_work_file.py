"""A work file (importers of any registered type plus link rules): every mistake at its file:line, relative paths
beside the file, and a run of several importers over loopback and a CSV file into the store, rules applied once."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from tests.support.recorded_api import RecordedApi, Reply, recorded

from andon.config.problems import InvalidConfig
from andon.errors import ConfigError
from andon.okr.work import ImportContext, load_rules, load_work_file, run_work_file
from andon.okr.work.csvfile import CsvImporter
from andon.okr.work.github import GitHubImporter
from andon.store import Store
from andon.store.okr import KeyResult, Objective, Period, Team


def test_every_mistake_is_named_at_its_line(tmp_path: Path) -> None:
    path = tmp_path / "work.yaml"
    path.write_text(
        "importers:\n"
        "  app:\n"
        "    type: github\n"
        "    repo: acme/menu-app\n"
        "    pagesize: 3\n"  # line 5: a typo in the GitHub settings
        "  tracker:\n"
        "    type: trello\n"  # line 7: no such type
        "  board:\n"  # line 8: no type at all
        "    url: https://x\n"
        "rules:\n"
        "  - {label: 'KR-*', kind: measures}\n",
        encoding="utf-8",
    )
    with pytest.raises(InvalidConfig) as bad:
        load_work_file(path)
    found = [(p.where.split(":")[1], p.field) for p in bad.value.problems]
    assert found == [("5", "importers.app.pagesize"), ("7", "importers.tracker.type"), ("8", "importers.board.type")]
    assert bad.value.problems[0].hint == "did you mean 'page_size'?"
    assert "trello" in bad.value.problems[1].message and "github" in str(bad.value.problems[2].hint)
    assert load_rules(path)[0].label == "KR-*"  # the rules read on their own still


def test_paths_sit_beside_the_file_and_tokens_stay_in_the_environment(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    path = tmp_path / "conf" / "work.yaml"
    path.write_text("importers:\n  sheet: {type: csv, path: work.csv}\n  app: {type: github, repo: a/b}\n")
    setup = load_work_file(path)
    sheet, app = setup.importers["sheet"], setup.importers["app"]
    assert isinstance(sheet, CsvImporter) and sheet.settings.path == tmp_path / "conf" / "work.csv"
    assert isinstance(app, GitHubImporter) and app.settings.token_env == "GITHUB_TOKEN" and setup.rules == []
    (tmp_path / "empty.yaml").write_text("")
    assert load_work_file(tmp_path / "empty.yaml").importers == {}


async def test_a_run_imports_each_then_applies_the_rules(tmp_path: Path, store: Store) -> None:
    store.upsert_team(Team(id="menu-ai", name="Menu AI"))
    store.upsert_period(Period(id="2026Q4", starts=date(2026, 10, 1), ends=date(2026, 12, 31)))
    store.add_objective(Objective(title="Review by itself", owner="jiwoo", team="menu-ai", period="2026Q4", key="auto"))
    for n in (1, 2):
        store.add_key_result(
            KeyResult(objective="auto", title=f"r{n}", owner="minsu", start=0, target=1, key=f"KR-2026Q4-{n}")
        )
    (tmp_path / "work.csv").write_text("id,title,labels\nT-1,Photo checks,KR-2026Q4-2\n", encoding="utf-8")
    with RecordedApi() as api:
        (tmp_path / "work.yaml").write_text(
            f"importers:\n  app: {{type: github, repo: acme/menu-app, base_url: '{api.url}'}}\n"
            "  sheet: {type: csv, path: work.csv}\nrules:\n  - {label: 'KR-2026Q4-*', kind: measures}\n",
            encoding="utf-8",
        )
        setup = load_work_file(tmp_path / "work.yaml", ImportContext(env={"GITHUB_TOKEN": "ghp_x"}))
        api.play(Reply(body=recorded("github_probe"), etag=True), Reply(body=recorded("github_issues_page1")))
        results, report = await run_work_file(store, setup)
        assert [(name, r.inserted) for name, r in results.items()] == [("app", 3), ("sheet", 1)]
        # github #1, #2 (KR-2026Q4-1), #3 (KR-2026Q4-2) and the CSV row (KR-2026Q4-2)
        assert len(report.made) == 4 and len(store.work_links()) == 4

        only, _ = await run_work_file(store, setup, ["sheet"])
        assert list(only) == ["sheet"] and only["sheet"].unchanged and api.left == 0
        with pytest.raises(ConfigError) as unknown:
            await run_work_file(store, setup, ["jira"])
        assert "jira" in unknown.value.message and "app, sheet" in (unknown.value.hint or "")
