"""What the OKR tests share: a small definitions file and a workspace on SQLite or PostgreSQL."""

from __future__ import annotations

from pathlib import Path

DEFINITIONS = """\
teams:
  - {id: product, name: Product, members: [jiwoo]}
  - {id: menu-ai, name: Menu AI, parent: product, members: [minsu, hana]}
periods: [2026Q4]
objectives:
  - key: menu-auto
    title: 메뉴 사진 검수를 자동으로
    owner: jiwoo
    team: menu-ai
    period: 2026Q4
    key_results:
      - title: Automatic approvals
        owner: minsu
        unit: "%"
        start: 40
        target: 70
        binding: {type: andon_metric, feature: menu-review, metric: label_share, label: approve, window: 7d}
      - key: menu-wait
        title: Median review wait
        unit: min
        start: 30
        target: 5
      - title: p95 latency stays in band
        unit: s
        start: 4
        direction: range
        low: 0.5
        high: 2
"""


def write_workspace(root: Path) -> Path:
    """A workspace with no features (OKRs need none) and the definitions file beside andon.yaml."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "andon.yaml").write_text("name: okr-test\n", encoding="utf-8")
    (root / "okr.yaml").write_text(DEFINITIONS, encoding="utf-8")
    return root
