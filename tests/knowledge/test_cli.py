"""``andon knowledge add/search/list`` end to end in a subprocess on a real workspace."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def andon(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ANDON_LANG": "en"}
    return subprocess.run(
        [sys.executable, "-m", "andon", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_add_search_and_list(tmp_path: Path) -> None:
    assert andon("init", cwd=tmp_path).returncode == 0
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "refund.md").write_text("# 환불\n\n구매 후 7일 이내에 환불을 요청할 수 있습니다.\n", encoding="utf-8")
    (docs / "account.md").write_text("# 계정\n\n설정 메뉴에서 비밀번호를 바꿀 수 있습니다.\n", encoding="utf-8")
    (docs / "bad.pdf").write_bytes(b"not a pdf")
    added = andon(
        "knowledge", "add", "help", "docs", "--no-embed", "--chunker", "markdown", "--size", "300", cwd=tmp_path
    )
    assert added.returncode == 1  # one file failed; the others went in
    assert "bad.pdf" in added.stderr and "Traceback" not in added.stderr
    assert "2 added" in added.stdout
    found = andon("knowledge", "search", "help", "환불은 며칠 안에 되나요?", "--mode", "bm25", "--json", cwd=tmp_path)
    assert found.returncode == 0, found.stderr
    hits = json.loads(found.stdout)
    assert hits[0]["source"] == "docs/refund.md" and hits[0]["citation"] == "refund.md › 환불 (l. 1–3)"
    again = andon("knowledge", "add", "help", "docs/refund.md", "docs/account.md", "--json", "--no-embed", cwd=tmp_path)
    assert json.loads(again.stdout)["added"] == ["refund.md", "account.md"]  # a file given alone is named by its name
    listed = json.loads(andon("knowledge", "list", "--json", cwd=tmp_path).stdout)
    assert listed[0]["name"] == "help" and listed[0]["documents"] == 4
    assert listed[0]["chunker"] == {"name": "markdown", "size": 300}
    bad = andon("knowledge", "search", "help", "x", "--mode", "fuzzy", cwd=tmp_path)
    assert bad.returncode == 2 and "bm25, dense or hybrid" in bad.stderr
    missing = andon("knowledge", "search", "nope", "x", "--mode", "bm25", cwd=tmp_path)
    assert missing.returncode != 0 and "no knowledge base 'nope'" in missing.stderr
