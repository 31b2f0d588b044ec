"""The CLI as a user meets it: real subprocesses, exit codes, messages without tracebacks, --json."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

RULES = """
def review(variables):
    text = variables.get("description", "")
    return {"decision": "reject" if "010" in text else "approve", "length": len(text)}
"""


def andon(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "ANDON_LANG": "en", **(env or {})}
    full_env.pop("ANDON_WORKSPACE", None)
    return subprocess.run(
        [sys.executable, "-m", "andon", *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def rules_workspace(tmp_path: Path) -> Path:
    (tmp_path / "cli_rules.py").write_text(RULES, encoding="utf-8")
    (tmp_path / "andon.yaml").write_text(
        textwrap.dedent(
            """\
            name: cli-test
            features:
              menu-review:
                versions:
                  v1:
                    python: cli_rules:review
                  v2:
                    steps:
                      - name: rules
                        python: cli_rules:review
            """
        ),
        encoding="utf-8",
    )
    return tmp_path


def test_init_then_check_versions_and_diff(tmp_path: Path) -> None:
    created = andon("init", "shop", cwd=tmp_path)
    assert created.returncode == 0, created.stderr
    shop = tmp_path / "shop"
    assert (shop / "andon.yaml").is_file() and (shop / ".andon").is_dir()
    again = andon("init", "shop", cwd=tmp_path)
    assert again.returncode == 2 and "--force" in again.stderr
    checked = andon("check", "--json", cwd=shop)
    assert checked.returncode == 0, checked.stderr
    assert set(json.loads(checked.stdout)["versions"]["listing-title"]) == {"v1", "v2"}
    listed = andon("versions", "listing-title", "--json", cwd=shop)
    rows = json.loads(listed.stdout)
    assert [r["name"] for r in rows] == ["v1", "v2"] and all(len(r["id"]) == 64 for r in rows)
    diffed = andon("diff", "listing-title", "v1", "v2", "--json", cwd=shop)
    paths = {c["path"] for c in json.loads(diffed.stdout)["changes"]}
    assert {"steps.main.system", "steps.main.prompt", "steps.main.output_schema"} <= paths
    human = andon("diff", "listing-title", "v1", rows[1]["id"][:8], cwd=shop)
    assert human.returncode == 0 and "steps.main.system" in human.stdout


def test_config_error_exits_2_with_location_and_no_traceback(tmp_path: Path) -> None:
    (tmp_path / "andon.yaml").write_text("name: x\nproviders:\n  p:\n    type: openai\n    timeout: 3\n")
    result = andon("check", cwd=tmp_path)
    assert result.returncode == 2
    assert f"{tmp_path / 'andon.yaml'}:5:5" in result.stderr and "timeout_s" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_no_workspace_is_explained(tmp_path: Path) -> None:
    result = andon("versions", "x", cwd=tmp_path)
    assert result.returncode == 2 and "andon init" in result.stderr and "Traceback" not in result.stderr


def test_invoke_stores_output_and_cite_prints_its_provenance(rules_workspace: Path) -> None:
    # Nothing is live until promoted (issue 16 item 2); `andon invoke` calls the live version.
    promoted = andon("promote", "menu-review", "v2", "--force", "--reason", "cli test", cwd=rules_workspace)
    assert promoted.returncode == 0, promoted.stderr
    result = andon("invoke", "menu-review", "--var", "description=연락 010-1111-2222", "--json", cwd=rules_workspace)
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["output_json"] == {"decision": "reject", "length": 16}
    assert record["context"]["version_name"] == "v2"
    card = andon("cite", record["id"][:16], cwd=rules_workspace)
    assert card.returncode == 0, card.stderr
    assert record["id"] in card.stdout and record["version_id"] in card.stdout and "cli_rules:review" in card.stdout
    missing = andon("cite", "out_nope", cwd=rules_workspace)
    assert missing.returncode == 2 and "Traceback" not in missing.stderr


def test_unknown_version_and_feature_list_what_exists(rules_workspace: Path) -> None:
    result = andon("invoke", "menu-review", "--version", "v9", cwd=rules_workspace)
    assert result.returncode == 2 and "v1" in result.stderr
    result = andon("invoke", "nope", cwd=rules_workspace)
    assert result.returncode == 2 and "menu-review" in result.stderr


def test_bad_var_syntax(rules_workspace: Path) -> None:
    result = andon("invoke", "menu-review", "--var", "novalue", cwd=rules_workspace)
    assert result.returncode == 2 and "key=value" in result.stderr


def test_korean_messages(tmp_path: Path) -> None:
    result = andon("--lang", "ko", "init", "가게", cwd=tmp_path)
    assert result.returncode == 0 and "워크스페이스를 만들었습니다" in result.stdout


def test_schema_is_json_and_help_lists_exit_codes(tmp_path: Path) -> None:
    result = andon("schema", cwd=tmp_path)
    assert json.loads(result.stdout)["title"] == "WorkspaceConfig"
    helped = andon("--help", cwd=tmp_path)
    assert "Exit codes" in helped.stdout and "invoke" in helped.stdout
