"""`andon okr import|link|unlink|work|kr-without-work` as a user runs them: real subprocesses on a real workspace,
recorded GitHub and Jira answers on loopback, exit codes, messages without tracebacks, tokens never shown."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from tests.support.recorded_api import RecordedApi, Reply, recorded

from andon.cli import main
from andon.store.okr import KeyResult, Objective, Period, Team
from andon.workspace import Workspace, init_workspace

TOKEN = "ghp_madeup_cli_0123456789"


UNSET = ("ANDON_WORKSPACE", "ANDON_DATABASE_URL", "GITHUB_TOKEN", "JIRA_API_TOKEN")


def andon_process(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """The real command line in a subprocess (slow to start: used once, for exit code and output as shipped)."""
    full_env = {k: v for k, v in os.environ.items() if k not in UNSET} | {"ANDON_LANG": "en", **env}
    return subprocess.run(
        [sys.executable, "-m", "andon", *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=120
    )


@dataclass
class Ran:
    """What one in-process run of `andon` printed and returned."""

    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def andon(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Callable[..., Ran]:
    """`andon ARGS` run in this process through the same entry point (`andon.cli.main`) as the installed script."""

    def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Ran:
        with monkeypatch.context() as patch:
            for name in UNSET:
                patch.delenv(name, raising=False)
            for name, value in {"ANDON_LANG": "en", "COLUMNS": "200", **(env or {})}.items():
                patch.setenv(name, value)
            patch.chdir(cwd)
            patch.setattr(sys, "argv", ["andon", *args])
            capsys.readouterr()
            code = 0
            try:
                main()
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            out = capsys.readouterr()
        return Ran(code, out.out, out.err)

    return run


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    init_workspace(root, name="okr-work")
    with Workspace.open(root) as ws:
        store = ws.store
        store.upsert_team(Team(id="menu-ai", name="Menu AI"))
        store.upsert_period(Period(id="2026Q4", starts=date(2026, 10, 1), ends=date(2026, 12, 31)))
        store.add_objective(
            Objective(title="Menus reviewed by themselves", owner="jiwoo", team="menu-ai", period="2026Q4", key="auto")
        )
        for n in (1, 2, 3):
            kr = KeyResult(
                objective="auto", title=f"result {n}", owner="minsu", start=0, target=1, key=f"KR-2026Q4-{n}"
            )
            store.add_key_result(kr)
    (root / "rules.yaml").write_text("rules:\n  - label: 'KR-2026Q4-*'\n    kind: measures\n", encoding="utf-8")
    return root


def test_csv_import_with_rules_links_reports_and_a_bad_row(workspace: Path, andon: Callable[..., Ran]) -> None:
    sheet = workspace / "work.csv"
    sheet.write_text("id,title,labels,done\nT-1,Photo checks,KR-2026Q4-1,yes\nT-2,Wait,KR-2026Q4-9,no\nT-3,Docs,,no\n")
    imported = andon("okr", "import", "csv", "work.csv", "--rules", "rules.yaml", cwd=workspace)
    assert imported.returncode == 0, imported.stderr
    assert "3 fetched · 3 new · 0 updated" in imported.stdout and "1 links made" in imported.stdout
    assert "no key result 'KR-2026Q4-9' (named by a label of T-2)" in imported.stdout

    again = andon("okr", "import", "csv", "work.csv", cwd=workspace)
    assert again.returncode == 0 and "nothing changed" in again.stdout

    (workspace / "bad.csv").write_text("id,title,points\nA,fine,1\nB,,2\n")
    bad = andon("okr", "import", "csv", "bad.csv", cwd=workspace)
    assert bad.returncode == 2 and "bad.csv:3" in bad.stderr and "title is empty" in bad.stderr
    assert "Traceback" not in bad.stderr

    linked = andon("okr", "link", "T-3", "KR-2026Q4-3", "--kind", "measures", cwd=workspace)
    assert linked.returncode == 0 and "linked csv:T-3 → KR-2026Q4-3 (measures)" in linked.stdout, linked.stderr
    wrong = andon("okr", "link", "T-3", "KR-2026Q4-3", "--kind", "counts", cwd=workspace)
    assert wrong.returncode == 2 and "unknown link kind 'counts'" in wrong.stderr

    unlinked = json.loads(andon("okr", "work", "--unlinked", "--json", cwd=workspace).stdout)
    assert [w["external_id"] for w in unlinked] == ["T-2"]
    of_kr = json.loads(andon("okr", "work", "--kr", "KR-2026Q4-1", "--json", cwd=workspace).stdout)
    assert [(w["external_id"], w["links"][0]["kind"], w["links"][0]["rule"]) for w in of_kr] == [
        ("T-1", "measures", "label:KR-2026Q4-*")
    ]
    table = andon("okr", "work", cwd=workspace)
    assert table.returncode == 0 and "csv:T-1" in table.stdout and "KR-2026Q4-1 (measures)" in table.stdout
    without = andon("okr", "kr-without-work", cwd=workspace)
    assert without.returncode == 0 and "KR-2026Q4-2" in without.stdout and "KR-2026Q4-1" not in without.stdout

    unlink = andon("okr", "unlink", "csv:T-3", "KR-2026Q4-3", cwd=workspace)
    assert unlink.returncode == 0 and "unlinked csv:T-3 from KR-2026Q4-3" in unlink.stdout


def test_github_import_over_loopback_then_a_304(workspace: Path, andon: Callable[..., Ran]) -> None:
    page2 = "{base}/api/v3/repositories/88120417/issues?state=all&sort=updated&direction=asc&per_page=100&page=2"
    link = f'<{page2}>; rel="next"'
    with RecordedApi() as api:
        api.play(
            Reply(body=recorded("github_probe"), etag=True),
            Reply(body=recorded("github_issues_page1"), headers={"Link": link}),
            Reply(body=recorded("github_issues_page2") + recorded("github_issues_page3")),
            Reply(body=recorded("github_probe"), etag=True),
        )
        args = ("okr", "import", "github", "acme/menu-app", "--base-url", f"{api.url}/api/v3", "--rules", "rules.yaml")
        first = andon(*args, cwd=workspace, env={"GITHUB_TOKEN": TOKEN})
        assert first.returncode == 0, first.stderr
        assert "7 fetched · 7 new" in first.stdout and "5 links made" in first.stdout
        second = andon(*args, "--json", cwd=workspace, env={"GITHUB_TOKEN": TOKEN})
        assert json.loads(second.stdout)["unchanged"] is True and api.left == 0
        assert TOKEN not in first.stdout + first.stderr + second.stdout + second.stderr

        missing = andon(*args, cwd=workspace)
        assert missing.returncode == 2 and "GITHUB_TOKEN" in missing.stderr and "Traceback" not in missing.stderr


def test_jira_refusal_names_the_variable_and_never_the_token(workspace: Path) -> None:
    with RecordedApi() as api:
        api.play(Reply(401, {"errorMessages": ["You are not authenticated."], "errors": {}}))
        args = ("okr", "import", "jira", "--url", api.url, "--email", "jiwoo@acme.example", "--jql", "project = MENU")
        denied = andon_process(*args, cwd=workspace, env={"JIRA_API_TOKEN": TOKEN, "ANDON_LANG": "ko"})
    assert denied.returncode == 3 and "HTTP 401" in denied.stderr and "JIRA_API_TOKEN" in denied.stderr
    assert "토큰" in denied.stderr and TOKEN not in denied.stderr and "Traceback" not in denied.stderr


def test_a_work_file_runs_its_importers_and_rules(workspace: Path, andon: Callable[..., Ran]) -> None:
    (workspace / "work.csv").write_text("id,title,labels\nT-1,Photo checks,KR-2026Q4-1\n", encoding="utf-8")
    (workspace / "work.yaml").write_text(
        "importers:\n  sheet: {type: csv, path: work.csv}\nrules:\n  - {label: 'KR-*', kind: measures}\n",
        encoding="utf-8",
    )
    ran = andon("okr", "import", "run", "work.yaml", cwd=workspace)
    assert ran.returncode == 0, ran.stderr
    assert "sheet: 1 fetched · 1 new · 0 updated" in ran.stdout and "1 links made" in ran.stdout
    (workspace / "typo.yaml").write_text("importers:\n  sheet: {type: csv, pth: work.csv}\n", encoding="utf-8")
    typo = andon("okr", "import", "run", "typo.yaml", cwd=workspace)
    assert typo.returncode == 2 and "typo.yaml:2" in typo.stderr and "did you mean 'path'?" in typo.stderr
