"""The page's language, Babel's formats, and the inline SVG charts: hand-worked values and properties."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from andon.web.charts import points, sparkline
from andon.web.i18n import Formats, choose_language, parse_accept_language


def test_accept_language_is_ranked_by_quality_then_order() -> None:
    assert parse_accept_language("en-US,en;q=0.9,ko;q=0.95") == ["en", "ko", "en"]
    assert parse_accept_language("ko-KR, ko;q=0.9, en-US;q=0.8, en;q=0.7") == ["ko", "ko", "en", "en"]
    assert parse_accept_language("fr;q=0, ko") == ["ko"]  # q=0 means "not this one"
    assert parse_accept_language("*;q=0.5, ;;, 12") == []


def test_the_cookie_wins_then_the_browser_then_english() -> None:
    assert choose_language("ko", "en-US") == "ko"
    assert choose_language(None, "fr-FR, ko;q=0.5") == "ko"
    assert choose_language("xx", "fr") == "en"
    assert choose_language(None, None) == "en"


@given(st.text(max_size=300))
def test_any_header_gives_a_known_language(header: str) -> None:
    assert choose_language(None, header) in ("en", "ko")


def test_money_numbers_and_dates_follow_the_locale() -> None:
    en, ko = Formats("en"), Formats("ko")
    assert en.money(1234.5, "USD") == "$1,234.50"
    assert ko.money(1234.5, "KRW") == "₩1,234"  # no minor unit in KRW: Babel rounds half to even
    assert ko.money(1234.5, "USD") == "US$1,234.50"
    assert en.number(1234567) == "1,234,567" and ko.number(0.25, 2) == "0.25"
    assert en.percent(0.125) == "12.5%"
    when = datetime(2026, 12, 2, 14, 3, tzinfo=UTC)
    assert "2026" in ko.when(when) and "오후" in ko.when(when)
    assert en.when(when) == "Dec 2, 2026, 2:03:00\u202fPM"
    assert en.when(None) == "—" and en.money(None, "KRW") == "—"


def test_points_span_the_box_with_the_maximum_at_the_top() -> None:
    assert points([0, 5, 10], width=100, height=20) == [(1.0, 19.0), (50.0, 10.0), (99.0, 1.0)]
    assert points([3], width=100, height=20) == [(50.0, 1.0)]
    assert points([0, 0], width=10, height=10) == [(1.0, 9.0), (9.0, 9.0)]
    assert points([], width=10, height=10) == []


@given(st.lists(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False), min_size=1, max_size=48))
def test_points_stay_inside_the_box_and_in_order(values: list[float]) -> None:
    placed = points(values, width=120, height=28)
    assert len(placed) == len(values)
    assert all(0 <= x <= 120 and 0 <= y <= 28 for x, y in placed)
    assert [x for x, _ in placed] == sorted(x for x, _ in placed)
    top = max(values)
    if top > 0:  # the highest value touches the top padding
        assert min(y for _, y in placed) == 1.0


def test_a_chart_names_itself_and_escapes_its_label() -> None:
    svg = str(sparkline([1, 2], label='<b>"calls"</b>', kind="bars"))
    assert svg.startswith("<svg") and 'role="img"' in svg and svg.count("<rect") == 2
    assert "<b>" not in svg and "&lt;b&gt;" in svg
