"""The OKR sync: read every bound key result of the open periods and record what its binding says.

One check-in per key result and period step (the UTC day; a period that has ended gets one last check-in for
its final day): a second sync in the same step writes nothing. A binding that fails is reported with its
reason and records nothing; the others go on. ``andon okr sync`` and ``andon serve --okr-sync`` call this.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from andon.errors import AndonError
from andon.messages import t
from andon.okr.bindings.base import Binding, BindingContext, build_binding
from andon.okr.objectives import record_checkin
from andon.store.okr import KeyResult, Period
from andon.workspace import Workspace

Status = Literal["recorded", "would_record", "skipped", "failed"]
AUTHOR = "andon okr sync"
log = logging.getLogger("andon.okr.sync")


@dataclass(frozen=True, slots=True)
class SyncOutcome:
    """What the sync did for one bound key result: recorded (or would, in a dry run), skipped, or failed, and why."""

    key_result: str
    title: str
    period: str
    binding: str  # what is read, for people (no secrets)
    source: str
    step: str
    status: Status
    value: float | None = None
    checkin: str | None = None  # the id written
    reason: str | None = None  # skipped or failed: why
    snapshot: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """Plain JSON (for ``--json``)."""
        return {
            "key_result": self.key_result,
            "title": self.title,
            "period": self.period,
            "binding": self.binding,
            "source": self.source,
            "step": self.step,
            "status": self.status,
            "value": self.value,
            "checkin": self.checkin,
            "reason": self.reason,
            "snapshot": self.snapshot,
        }


@dataclass(frozen=True, slots=True)
class SyncResult:
    """Every bound key result of the open periods and what became of it, at ``at``."""

    at: datetime
    dry_run: bool
    outcomes: list[SyncOutcome] = field(default_factory=list)

    def count(self, status: Status) -> int:
        """How many outcomes have ``status``."""
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def failed(self) -> list[SyncOutcome]:
        """The key results whose binding gave no number."""
        return [o for o in self.outcomes if o.status == "failed"]

    def to_json(self) -> dict[str, Any]:
        """Plain JSON (for ``--json``)."""
        return {"at": self.at.isoformat(), "dry_run": self.dry_run, "outcomes": [o.to_json() for o in self.outcomes]}


def period_step(period: Period, now: datetime) -> str:
    """The idempotency key of a sync at ``now``: its UTC day, or the period's last day once the period is over."""
    day = _utc(now).date()
    return min(day, period.ends).isoformat()


def source_of(spec: dict[str, Any]) -> str:
    """``binding:<type>``: the check-in's source for a binding spec."""
    return f"binding:{spec.get('type', '?')}"


def sync(ws: Workspace, now: datetime | None = None, *, dry_run: bool = False) -> SyncResult:
    """Evaluate every bound key result of every open, started period and record a check-in per step."""
    at = _utc(now or datetime.now(UTC))
    outcomes: list[SyncOutcome] = []
    for period in ws.store.periods():
        if period.closed_at is not None or period.starts > at.date():
            continue
        for kr in ws.store.key_results(period=period.id):
            if kr.binding is not None:
                outcomes.append(_sync_one(ws, kr, period, at, dry_run=dry_run))
    return SyncResult(at, dry_run, outcomes)


def _sync_one(ws: Workspace, kr: KeyResult, period: Period, at: datetime, *, dry_run: bool) -> SyncOutcome:
    spec = dict(kr.binding or {})
    step, source = period_step(period, at), source_of(spec)

    def outcome(status: Status, binding: str, **values: Any) -> SyncOutcome:
        return SyncOutcome(kr.id, kr.title, period.id, binding, source, step, status, **values)

    where = f"key result {kr.key or kr.id} binding"
    binding: Binding | None = None
    try:
        binding = build_binding(spec, where)
        done = next((c for c in ws.store.checkins(kr.id) if c.source == source and c.step == step), None)
        if done is not None:  # this step is recorded: nothing is read (a query may be costly)
            reason = t("okr.sync.already", step=step)
            return outcome("skipped", binding.describe(), value=done.value, checkin=done.id, reason=reason)
        reading = binding.read(BindingContext(ws, kr, period, at))
    except AndonError as exc:
        return outcome("failed", _described(binding, spec), reason=_why(exc))
    except Exception as exc:  # a plugin's bug must not stop the other key results
        log.exception("binding of key result %s failed", kr.id)
        return outcome("failed", _described(binding, spec), reason=f"{type(exc).__name__}: {exc}")
    described = binding.describe()
    snapshot = {**reading.snapshot, "binding": described, "read_at": at.isoformat()}
    if dry_run:
        return outcome("would_record", described, value=reading.value, snapshot=snapshot)
    try:
        written = record_checkin(
            ws.store, kr.id, reading.value, author=AUTHOR, source=source, snapshot=snapshot, step=step, at=at
        )
    except AndonError as exc:  # e.g. the period was closed a moment ago
        return outcome("failed", described, value=reading.value, reason=_why(exc))
    if written is None:  # another sync (a second replica) recorded this step in between
        return outcome("skipped", described, value=reading.value, reason=t("okr.sync.already", step=step))
    return outcome("recorded", described, value=reading.value, checkin=written.id, snapshot=snapshot)


class SyncSchedule:
    """The sync every ``every_s`` seconds in a thread of its own (``andon serve --okr-sync 1h``); stops cleanly.

    It opens its own workspace (its own store connection) and runs a first sync at once.
    """

    def __init__(
        self,
        root: Path,
        every_s: float,
        *,
        on_result: Callable[[SyncResult], None] | None = None,
        database_url: str | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self._root, self._every_s, self._on_result, self._database_url = root, every_s, on_result, database_url
        self._clock = clock or (lambda: datetime.now(UTC))
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._main, name="andon-okr-sync", daemon=True)
        self.runs = 0

    def start(self) -> None:
        """Start syncing."""
        self._thread.start()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop after the sync in progress (each binding has its own timeout)."""
        self._done.set()
        self._thread.join(timeout=timeout_s)

    @property
    def alive(self) -> bool:
        """Whether the thread still runs."""
        return self._thread.is_alive()

    def _main(self) -> None:
        try:
            ws = Workspace.open(self._root, database_url=self._database_url)
        except AndonError as exc:
            log.error(t("okr.sync.schedule_failed", error=str(exc)))
            return
        try:
            while not self._done.is_set():
                try:
                    result = sync(ws, self._clock())
                except Exception:  # the gateway goes on serving; the next round tries again
                    log.exception(t("okr.sync.round_failed"))
                else:
                    self.runs += 1
                    if self._on_result is not None:
                        self._on_result(result)
                self._done.wait(self._every_s)
        finally:
            ws.close()


def summary_line(result: SyncResult) -> str:
    """``okr sync: 3 recorded, 1 skipped, 0 failed`` for logs."""
    return t(
        "okr.sync.summary",
        recorded=result.count("recorded") + result.count("would_record"),
        skipped=result.count("skipped"),
        failed=result.count("failed"),
    )


def _described(binding: Binding | None, spec: dict[str, Any]) -> str:
    return binding.describe() if binding is not None else str(spec.get("type", "?"))


def _why(exc: AndonError) -> str:
    text = f"{exc.where}: {exc.message}" if exc.where else exc.message
    return f"{text} ({exc.hint})" if exc.hint else text


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


__all__ = ["AUTHOR", "SyncOutcome", "SyncResult", "SyncSchedule", "period_step", "source_of", "summary_line", "sync"]
