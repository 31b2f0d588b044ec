"""The home page's evaluation verdicts, judged once per (run, version, criteria) and never on the request's clock.

Judging a version re-reads its whole run (intervals by bootstrap): seconds for 100,000 cells. A finished run
does not change, so each process keeps the judgements per store; a verdict not yet judged is worked out in a
background thread while the page says so, and the next visit shows it.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable

from andon.deploy import JudgementMemo, Verdict, evaluation_verdict
from andon.store import Store
from andon.workspace import Workspace

WAIT_S = 1.0  # what a page waits for a verdict before saying it is being judged (only the first visit)

_MEMOS: weakref.WeakKeyDictionary[Store, JudgementMemo] = weakref.WeakKeyDictionary()
_RUNNING: dict[tuple[int, str, str], _Job] = {}
_LOCK = threading.Lock()


class _Job:
    """One verdict being judged in a daemon thread (a process may exit without waiting for it)."""

    def __init__(self, work: Callable[[], Verdict]) -> None:
        self.done = threading.Event()
        self.result: Verdict | None = None
        self.error: BaseException | None = None
        self._work = work
        threading.Thread(target=self._run, daemon=True, name="andon-web-verdict").start()

    def _run(self) -> None:
        try:
            self.result = self._work()
        except BaseException as exc:  # handed to the page that waits; the thread itself must not die loudly
            self.error = exc
        finally:
            self.done.set()


def memo_of(store: Store) -> JudgementMemo:
    """The judgements this process has made on ``store`` (shared by the home page's calls)."""
    with _LOCK:
        return _MEMOS.setdefault(store, {})


def verdict(ws: Workspace, feature: str, version_id: str, *, wait_s: float = WAIT_S) -> Verdict | None:
    """The version's evaluation verdict, or None while it is still being judged in the background.

    Raises what judging raised (an :class:`~andon.errors.AndonError` for a version or run that is not known).
    """
    memo = memo_of(ws.store)
    key = (id(ws.store), feature, version_id)
    with _LOCK:
        job = _RUNNING.get(key)
        if job is None:
            version = ws.version(feature, version_id)
            job = _RUNNING[key] = _Job(lambda: evaluation_verdict(ws, feature, version, memo=memo))
    if not job.done.wait(wait_s):
        return None
    with _LOCK:
        if _RUNNING.get(key) is job:
            del _RUNNING[key]  # the next visit asks again: a newer run may have finished since
    if job.error is not None:
        raise job.error
    return job.result
