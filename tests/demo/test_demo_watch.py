"""``andon demo --watch-only`` in a subprocess: the printed story — traffic, the reject rate jumping at t0, the
monitor firing, the feature stopped, calls queued for people, the incident's seven stages, one signed
notification per stage at the loopback receiver — in English and Korean."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from andon.messages import t
from andon.watch.incidents import STAGES
from andon.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]


def run_demo(path: Path, language: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("ANDON_DATABASE_URL", "ANDON_WORKSPACE")}
    env |= {"PYTHONPATH": str(ROOT / "src"), "ANDON_LANG": language, "COLUMNS": "400"}
    command = [sys.executable, "-m", "andon", "demo", "--watch-only", "--path", str(path)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


@pytest.mark.parametrize("language", ["en", "ko"])
def test_demo_watch_tells_the_whole_story(tmp_path: Path, language: str) -> None:
    out = run_demo(tmp_path / "demo", language)
    lines = out.splitlines()
    templates = tomllib.loads((ROOT / f"src/andon/messages/{language}/watchint.toml").read_text(encoding="utf-8"))

    def line_of(key: str) -> int:
        """The first printed line holding the longest fixed part of message ``key``."""
        fixed = max(re.split(r"\{[^}]*\}", templates[key]), key=len).strip()
        found = [i for i, line in enumerate(lines) if fixed in line]
        assert found, f"{key!r} ({fixed!r}) not printed:\n{out}"
        return found[0]

    shift, fired, stopped = (
        line_of("watchint.demo.shift"),
        line_of("watchint.demo.fired"),
        line_of("watchint.demo.stopped"),
    )
    assert shift < fired < stopped  # nothing fired on the traffic before t0
    assert "monitor:reject-rate" in lines[stopped]  # the cord, pulled by the monitor
    assert [int(n) for n in re.findall(r"\d+", lines[line_of("watchint.demo.queued")])] in ([30, 30],)
    received = [line for line in lines if t("watchint.demo.signed", language=language) in line]
    assert [re.search(r"incident\.\w+", line).group(0) for line in received] == [f"incident.{s}" for s in STAGES]  # type: ignore[union-attr]
    assert not any(t("watchint.demo.unsigned", language=language) in line for line in lines)
    listed = lines[line_of("watchint.demo.stages") + 1 :][: len(STAGES)]
    assert [line.split()[0] for line in listed] == [
        t(f"incidents.stage.{s}", language=language).split()[0] for s in STAGES
    ]
    with Workspace.open(tmp_path / "demo" / "watch") as ws:
        assert ws.store.feature_stopped("menu-review")[0]
        (incident,) = ws.store.list_incidents(feature="menu-review")
        assert sorted(incident.stages, key=STAGES.index) == list(STAGES)
        assert len(ws.store.outbox(status="delivered")) == len(STAGES)
