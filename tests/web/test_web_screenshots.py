"""scripts/screenshots runs end to end on its own tiny workspace for one page and writes PNGs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="needs Debian's chromium")


def test_the_script_writes_a_png_per_language(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    subprocess.run([sys.executable, str(ROOT / "scripts" / "screenshots"), "--out", str(tmp_path), "--only", "okrs"],
                   check=True, env=env, timeout=300, capture_output=True)  # fmt: skip
    for lang in ("en", "ko"):
        png = (tmp_path / f"okrs-{lang}.png").read_bytes()
        assert png.startswith(b"\x89PNG") and len(png) > 1000
