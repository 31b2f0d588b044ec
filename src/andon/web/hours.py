"""The home page's hourly totals, with finished hours kept in memory: only the open hour is read each visit.

A finished hour cannot change once its late traces are in (the trace writer flushes within seconds and a call
is stamped when it starts, so ``GRACE`` covers the slowest call). Each process keeps its own copy per store.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from andon.store import Store
from andon.store.web import HourTotals

GRACE = timedelta(minutes=5)
HOUR = timedelta(hours=1)


@dataclass(slots=True)
class _Finished:
    """Hours of one feature known complete: every hour in ``[start, end)``, those with calls in ``hours``."""

    start: datetime
    end: datetime
    hours: dict[datetime, HourTotals] = field(default_factory=dict)


_CACHES: weakref.WeakKeyDictionary[Store, dict[str, _Finished]] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def _floor(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def hourly_totals(store: Store, feature: str, start: datetime, now: datetime) -> list[HourTotals]:
    """Totals per hour from ``start`` (an hour boundary) on, oldest first; hours without calls are left out."""
    settled = _floor(now - GRACE)  # hours before this one are finished
    with _LOCK:
        finished = _CACHES.setdefault(store, {}).get(feature)
    if finished is None or finished.start > start or finished.end < start:
        finished = _Finished(start, start)
    since = finished.end
    fresh = store.hourly_trace_totals(feature, since)
    hours = {h: t for h, t in finished.hours.items() if h >= start}
    hours.update((t.hour, t) for t in fresh)
    kept = {h: t for h, t in hours.items() if h < settled}
    with _LOCK:
        _CACHES.setdefault(store, {})[feature] = _Finished(start, settled, kept)
    return [hours[h] for h in sorted(hours)]
