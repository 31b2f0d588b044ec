"""`andon user add/list/disable`: the password read from a prompt or stdin, never from the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from andon.cli import app
from andon.errors import ConfigError, NotFoundError
from andon.store import Store
from andon.web.users import Lockout, authenticate


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "andon.yaml").write_text("andon: 1\nname: users\nfeatures: {}\n", encoding="utf-8")
    return tmp_path


def _run(folder: Path, *args: str, stdin: str = "") -> Result:
    return CliRunner().invoke(app, ["--workspace", str(folder), *args], input=stdin)


def test_the_real_command_reads_the_password_from_stdin_and_errors_are_one_line(folder: Path) -> None:
    env = {**os.environ, "ANDON_LANG": "en"}
    env.pop("ANDON_WORKSPACE", None)

    def andon(*args: str, stdin: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "andon", *args], cwd=folder, env=env, input=stdin,
                              capture_output=True, text=True, timeout=120)  # fmt: skip

    added = andon("user", "add", "jieun", "--role", "reviewer", "--password-stdin", stdin="a very good password\n")
    assert added.returncode == 0, added.stderr
    assert "jieun" in added.stdout and "reviewer" in added.stdout
    with Store.open(workspace=folder) as store:
        assert authenticate(store, "jieun", "a very good password", Lockout()).role == "reviewer"
    wrong = andon("user", "add", "minho", "--role", "owner", "--password-stdin", stdin="long enough pw\n")
    assert wrong.returncode == 2 and "unknown role owner" in wrong.stderr and "Traceback" not in wrong.stderr


def test_add_from_the_prompt_list_and_disable(folder: Path) -> None:
    typed = "a very good password\n"
    added = _run(folder, "user", "add", "jieun", "--role", "admin", stdin=typed * 2)  # asked twice
    assert added.exit_code == 0, added.output
    assert "a very good password" not in added.output  # asked without echo
    listed = json.loads(_run(folder, "user", "list", "--json").output)
    assert [(u["name"], u["role"], u["disabled_at"]) for u in listed] == [("jieun", "admin", None)]
    assert "hash" not in json.dumps(listed)
    disabled = _run(folder, "user", "disable", "jieun", "--json")
    assert json.loads(disabled.output)["disabled_at"] is not None


def test_a_short_password_and_an_unknown_user_are_refused(folder: Path) -> None:
    short = _run(folder, "user", "add", "jieun", "--password-stdin", stdin="short\n")
    assert isinstance(short.exception, ConfigError) and "at least 10" in short.exception.message
    missing = _run(folder, "user", "disable", "nobody")
    assert isinstance(missing.exception, NotFoundError)
