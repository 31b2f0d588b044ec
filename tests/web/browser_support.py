"""What the dashboard's browser tests share: Debian's Chromium, the skip without it, and axe's serious findings."""

from __future__ import annotations

from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

CHROMIUM = Path("/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium: bash scripts/system-deps")


def serious_violations(page: Page) -> list[str]:
    """axe-core's serious and critical findings on the page as it is now, as 'id: help' lines."""
    results = Axe().run(page)
    return [f"{v['id']}: {v['help']}" for v in results.response["violations"] if v["impact"] in ("serious", "critical")]
