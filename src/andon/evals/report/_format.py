"""Labels from the message catalogue and number formatting shared by every report format."""

from __future__ import annotations

import math
import re
from typing import Literal

from andon.messages import t

Kind = Literal["percent", "ms", "money", "tokens", "score", "number"]

# Metrics whose values are shares in [0, 1]; shown as percentages and their deltas in percentage points.
_SHARES = {
    "pass_rate", "accuracy", "macro_f1", "macro_precision", "macro_recall", "precision", "recall", "f1",
    "error_rate", "flip_rate", "pass_all_repeats", "pass_any_repeat", "agreement", "all_pass_rate",
    "cache_hit_rate", "grader_error_rate", "retrieval_recall", "retrieval_precision", "retrieval_hit_rate",
    "pass_hat_k",
}  # fmt: skip
_SCORES = {"mean_score", "score", "retrieval_mrr", "retrieval_ndcg"}
_SYMBOLS = {"USD": "$", "KRW": "₩", "EUR": "€", "JPY": "¥", "GBP": "£", "CNY": "¥"}
# Characters XML 1.0 forbids (and HTML treats as parse errors); model text can contain them.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


def tr(key: str, language: str, **values: object) -> str:
    """Report text ``report.<key>`` in ``language``."""
    return t(f"report.{key}", language=language, **values)


def clean(text: str) -> str:
    """``text`` without control characters that XML and HTML cannot carry."""
    return _FORBIDDEN.sub("\ufffd", text)


def base_metric(name: str) -> str:
    """``precision[reject]`` -> ``precision``."""
    return name.split("[", 1)[0]


def metric_label(name: str, language: str) -> str:
    """The catalogue's name for a metric (``recall[reject]`` keeps its label); unknown metrics keep their id."""
    base, bracket, rest = name.partition("[")
    text = base
    for key in (f"report.metric.{base}", f"evals.metric.{base}"):
        found = t(key, language=language)
        if found != key:
            text = found
            break
    return f"{text}[{rest}" if bracket else text


def metric_kind(name: str, unit: str = "") -> Kind:
    """How to show a metric's values, from its name and unit."""
    base = base_metric(name)
    if unit == "ms" or "latency" in base:
        return "ms"
    if base.startswith("cost") or (len(unit) == 3 and unit.isupper()):
        return "money"
    if unit == "tokens" or "tokens" in base:
        return "tokens"
    if base in _SHARES or base.startswith(("pass@", "pass^")):
        return "percent"
    if base in _SCORES:
        return "score"
    return "number"


def _plain(value: float) -> str:
    size = abs(value)
    if size == 0:
        return "0"
    if size >= 100:
        return f"{value:,.0f}"
    if size >= 1:
        return f"{value:,.2f}"
    # Three significant digits for small amounts (a cent fraction per call) without scientific notation.
    digits = min(10, 2 - math.floor(math.log10(size)))
    return f"{value:.{digits}f}".rstrip("0").rstrip(".")


def money(value: float | None, currency: str, signed: bool = False) -> str:
    """``$0.00042``, ``₩1,234``, ``12.50 CHF``; with ``signed`` a leading + or −."""
    if value is None or not math.isfinite(value):
        return "—"
    sign = "-" if value < 0 else ("+" if signed and value > 0 else "")
    amount = _plain(abs(value))
    symbol = _SYMBOLS.get(currency)
    return f"{sign}{symbol}{amount}" if symbol else f"{sign}{amount} {currency}"


def value(v: float | None, kind: Kind, currency: str = "USD") -> str:
    """One value in its kind's format; None and non-finite values show as a dash."""
    if v is None or not math.isfinite(v):
        return "—"
    if kind == "percent":
        return f"{v * 100:.1f}%"
    if kind == "ms":
        return f"{v:,.0f} ms" if abs(v) >= 10 else f"{v:.1f} ms"
    if kind == "money":
        return money(v, currency)
    if kind == "tokens":
        return f"{v:,.0f}"
    if kind == "score":
        return f"{v:.3f}"
    return f"{v:.4g}"


def interval(low: float | None, high: float | None, kind: Kind, currency: str = "USD") -> str:
    """``[87.1%, 97.2%]``, or an empty string when there is no interval."""
    if low is None or high is None:
        return ""
    return f"[{value(low, kind, currency)}, {value(high, kind, currency)}]"


def delta(v: float | None, kind: Kind, currency: str, language: str) -> str:
    """A signed difference: percentage points for shares, ms, money, tokens or plain numbers."""
    if v is None or not math.isfinite(v):
        return "—"
    if kind == "percent":
        return tr("unit.pp", language, value=f"{v * 100:+.1f}")
    if kind == "ms":
        return f"{v:+,.0f} ms" if abs(v) >= 10 else f"{v:+.1f} ms"
    if kind == "money":
        return money(v, currency, signed=True)
    if kind == "tokens":
        return f"{v:+,.0f}"
    if kind == "score":
        return f"{v:+.3f}"
    return f"{v:+.4g}"


def delta_interval(low: float | None, high: float | None, kind: Kind, currency: str, language: str) -> str:
    """``[+3.3 pp, +30.0 pp]``, or an empty string when there is no interval."""
    if low is None or high is None:
        return ""
    return f"[{delta(low, kind, currency, language)}, {delta(high, kind, currency, language)}]"


def p_value(p: float | None) -> str:
    """A p-value with enough digits to read it, never shown as 0."""
    if p is None or not math.isfinite(p):
        return "—"
    if p < 0.0001:
        return "< 0.0001"
    return f"{p:.2g}" if p < 0.01 else f"{p:.3f}"


def p_equation(p: float | None) -> str:
    """``p = 0.013`` or ``p < 0.0001``, for sentences."""
    text = p_value(p)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def short_id(identifier: str, length: int = 12) -> str:
    """A version or content id cut for display (ids such as ``out_…`` keep their prefix)."""
    return identifier if len(identifier) <= length + 4 else identifier[:length] + "…"


def one_line(text: str | None, limit: int = 160) -> str:
    """``text`` on one line, cut at ``limit`` characters with an ellipsis."""
    if not text:
        return ""
    flat = " ".join(clean(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
