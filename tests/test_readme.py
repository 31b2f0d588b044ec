"""The README's commands, run in order on a fresh workspace, as a new user would paste them.

Every ```bash block runs unless the line before it is a marker the test reads:
``<!-- readme-test: skip … -->`` (sets up the machine itself), ``<!-- readme-test: server … -->`` (a server
that runs until stopped: started here on a free loopback port, later commands use that port) and
``<!-- readme-test: local-model -->`` (calls the embedded model: run by the ``local_model`` test only).
Ids a user copies from earlier output (``out_…``, ``andon_sk_…``) are taken from what was printed.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
MARKERS = ("run", "skip", "server", "local-model")
_FENCE = re.compile(r"^```(\w*)\s*$")
_MARKER = re.compile(r"^<!--\s*readme-test:\s*([\w-]+)\b.*-->\s*$")
PLACEHOLDERS = {"out_…": re.compile(r"\bout_[0-9a-z]{12,}\b"), "andon_sk_…": re.compile(r"\bandon_sk_[\w-]{20,}")}
README_PORT = "8787"


@dataclass(frozen=True)
class Block:
    """One fenced ```bash block: its marker, its first line in the README, and its commands."""

    marker: str
    line: int
    commands: list[str]


def bash_blocks(text: str) -> list[Block]:
    """Every ```bash block of ``text`` with the marker on the line before it (``run`` when none)."""
    blocks: list[Block] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        opened = _FENCE.match(lines[index])
        if opened is None or not opened[1]:
            index += 1
            continue
        start, body = index, []
        index += 1
        while index < len(lines) and not lines[index].startswith("```"):
            body.append(lines[index])
            index += 1
        index += 1
        if opened[1] != "bash":
            continue
        previous = next((lines[i] for i in range(start - 1, -1, -1) if lines[i].strip()), "")
        marked = _MARKER.match(previous.strip())
        blocks.append(Block(marked[1] if marked else "run", start + 1, commands(body)))
    return blocks


def commands(body: list[str]) -> list[str]:
    """Shell commands of a block: continuation lines joined, blank and comment-only lines dropped."""
    out: list[str] = []
    pending = ""
    for line in body:
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        command = (pending + line).strip()
        pending = ""
        if command and not command.startswith("#"):
            out.append(command)
    return out


def without_comment(command: str) -> str:
    """The command without a trailing ``# comment`` (a ``#`` inside quotes or a word stays)."""
    quote = ""
    for index, char in enumerate(command):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or command[index - 1].isspace()):
            return command[:index].rstrip()
    return command


@dataclass
class Session:
    """A shell session a user would have: a current folder, what was printed so far, and a server if any."""

    cwd: Path
    env: dict[str, str]
    cwd_file: Path  # where each command's shell writes the folder it ended in
    printed: str = ""
    port: str | None = None
    servers: list[subprocess.Popen[str]] = field(default_factory=list)
    ran: list[str] = field(default_factory=list)

    def prepare(self, command: str) -> str:
        """The command with copied ids filled in from earlier output, and the server's real port."""
        command = without_comment(command)
        for placeholder, pattern in PLACEHOLDERS.items():
            if placeholder in command:
                found = pattern.findall(self.printed)
                assert found, f"{command!r} needs {placeholder} but no earlier command printed one"
                command = command.replace(placeholder, found[-1])
        if self.port is not None:
            command = command.replace(f"localhost:{README_PORT}", f"127.0.0.1:{self.port}")
        return command

    def run(self, command: str) -> subprocess.CompletedProcess[str]:
        """Run one command in bash from the current folder; keep the folder it ends in (for `cd`)."""
        script = f"{self.prepare(command)}\n__rc=$?\npwd > {shlex.quote(str(self.cwd_file))}\nexit $__rc\n"
        result = subprocess.run(
            ["bash", "-c", script], cwd=self.cwd, env=self.env, capture_output=True, text=True, timeout=900
        )
        self.cwd = Path(self.cwd_file.read_text(encoding="utf-8").strip())
        self.printed += result.stdout + result.stderr
        self.ran.append(command)
        return result

    def serve(self, command: str) -> None:
        """Start a long-running server command on a free loopback port and wait until it is healthy."""
        assert f"--port {README_PORT}" in command, command
        self.port = str(free_port())
        argv = shlex.split(without_comment(command).replace(f"--port {README_PORT}", f"--port {self.port}"))
        server = subprocess.Popen(
            argv, cwd=self.cwd, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.servers.append(server)
        self.ran.append(command)
        deadline = time.monotonic() + 120  # a safety net for a server that never starts, not a timing assertion
        while time.monotonic() < deadline:
            assert server.poll() is None, f"{command!r} exited: {server.stdout.read() if server.stdout else ''}"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        pytest.fail(f"{command!r} did not become healthy on port {self.port}")

    def close(self) -> None:
        """Stop the servers this session started."""
        for server in self.servers:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    """A fresh folder and an `andon` on PATH that runs this checkout (as an installed one would)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "andon"
    shim.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m andon "$@"\n', encoding="utf-8")
    shim.chmod(0o755)
    src = str(Path(__file__).resolve().parents[1] / "src")
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}", "ANDON_LANG": "en"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, os.environ.get("PYTHONPATH")) if p)
    for name in ("ANDON_WORKSPACE", "ANDON_DATABASE_URL"):
        env.pop(name, None)
    home = tmp_path / "user"
    home.mkdir()
    current = Session(cwd=home, env=env, cwd_file=tmp_path / "cwd")
    try:
        yield current
    finally:
        current.close()


def run_readme(session: Session, *, with_local_model: bool) -> None:
    """Every runnable block in README order; each command must succeed, never with a traceback."""
    for block in bash_blocks(README.read_text(encoding="utf-8")):
        if block.marker == "skip" or (block.marker == "local-model" and not with_local_model):
            continue
        for command in block.commands:
            if block.marker == "server":
                session.serve(command)
                continue
            result = session.run(command)
            shown = f"README line {block.line}: {command}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
            assert result.returncode == 0, shown
            assert "Traceback" not in result.stdout + result.stderr, shown
            if command.startswith("curl"):
                reply = json.loads(result.stdout)
                assert reply.get("error") is None and reply["status"] == "ok" and reply["trace_id"], shown


def test_every_bash_block_is_run_or_explicitly_marked() -> None:
    blocks = bash_blocks(README.read_text(encoding="utf-8"))
    assert {b.marker for b in blocks} <= set(MARKERS), [(b.line, b.marker) for b in blocks]
    runnable = [c for b in blocks if b.marker == "run" for c in b.commands]
    assert runnable[0].startswith("andon init ")  # a fresh workspace first, like a new user
    assert any(c.startswith("curl") for c in runnable) and any(b.marker == "server" for b in blocks)
    for block in blocks:
        assert block.commands, f"README line {block.line}: an empty bash block"


def test_block_parser_joins_continuations_and_reads_markers() -> None:
    text = (
        "<!-- readme-test: skip (why) -->\n```bash\nscripts/demo   # a comment\n```\n\n"
        "```bash\n# only a comment\ncurl a \\\n     -d '{}'\n\nandon check\n```\n```yaml\nx: 1\n```\n"
    )
    blocks = bash_blocks(text)
    assert [(b.marker, b.line) for b in blocks] == [("skip", 2), ("run", 6)]
    assert blocks[1].commands == ["curl a       -d '{}'", "andon check"]
    assert without_comment("andon eval x   # a comment with andon_sk_… in it") == "andon eval x"
    assert without_comment("""curl -d '{"a": "#1"}' x#y""") == """curl -d '{"a": "#1"}' x#y"""


@pytest.mark.skipif(shutil.which("curl") is None or shutil.which("bash") is None, reason="needs bash and curl")
def test_readme_commands_run_in_order_on_a_fresh_workspace(session: Session) -> None:
    run_readme(session, with_local_model=False)
    shop = session.cwd
    assert (shop / "andon.yaml").is_file() and (shop / "report.html").is_file()
    assert "andon serve --port 8787" in " ".join(session.ran)  # the server really ran, on its own port


@pytest.mark.local_model
@pytest.mark.skipif(shutil.which("curl") is None or shutil.which("bash") is None, reason="needs bash and curl")
def test_readme_commands_with_the_embedded_model(session: Session) -> None:
    run_readme(session, with_local_model=True)
