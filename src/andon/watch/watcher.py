"""The watcher: each monitor measured when due, judged, stored, and the cord pulled on a breach — by one
watcher only, however many run against the store.

Exactly once: a watcher evaluates a monitor only while it holds the monitor's lease, and commits the point,
the saved state and the cord pulls it decided on in one transaction that checks the lease's fencing token
(and that the tick is not stored yet). The pulls are then carried out; one cut short (the watcher killed)
stays pending in the store and whichever watcher holds the lease next finishes it under the same dedupe key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

import httpx

from andon.deploy.cord import CordPull, finish_pending, pull_cord, release_cord
from andon.deploy.experiment import look_all
from andon.deploy.rollout import StepResult, advance_rollout
from andon.errors import AndonError
from andon.messages import t
from andon.store.models import utcnow
from andon.store.watch import PullClaim, WatchPoint
from andon.watch.incidents import deliver as deliver_notifications
from andon.watch.monitors import Monitor, MonitorState, Step, aligned, build_monitors, step
from andon.watch.sources import measure
from andon.workspace import Workspace

log = logging.getLogger("andon.watch")

Clock = Callable[[], datetime]
DEFAULT_LEASE_TTL_S = 60.0
SETTLE_S = 1.0  # a tick waits this long past its boundary (a quarter of the interval at most) before measuring
DELIVER_EVERY_S = 5.0  # how long a stage changed by hand (andon incident advance) waits for its notification


def default_owner() -> str:
    """This process as a lease owner: host, pid and a random suffix (a restarted process is a new owner)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


@dataclass(frozen=True)
class Evaluated:
    """One monitor evaluated at one tick: the step, and the cord pulls it led to."""

    monitor: str
    step: Step
    pulls: list[CordPull] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class Watcher:
    """Evaluates monitors at their interval (``tick`` once, or ``run`` until told to stop).

    ``clock`` is when "now" is for measuring (tests and the bench drive it); leases always use the wall clock,
    which every watcher shares.
    """

    def __init__(
        self,
        ws: Workspace,
        *,
        monitors: dict[str, Monitor] | None = None,
        only: Sequence[str] | None = None,
        owner: str | None = None,
        lease_ttl_s: float = DEFAULT_LEASE_TTL_S,
        clock: Clock = utcnow,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.ws = ws
        every = monitors if monitors is not None else build_monitors(ws.config, path=ws.loaded.path)
        if only:
            unknown = [n for n in only if n not in every]
            if unknown:
                raise AndonError(
                    t("watch.unknown_monitor", names=", ".join(unknown)),
                    where="--monitor",
                    hint=t("watch.hint.known", names=", ".join(every) or "-"),
                )
            every = {n: m for n, m in every.items() if n in only}
        self.monitors = every
        self.owner = owner or default_owner()
        self.lease_ttl_s = lease_ttl_s
        self.clock = clock
        self._http = http
        self._own_http: httpx.AsyncClient | None = None
        self._tokens: dict[str, int] = {}

    async def __aenter__(self) -> Watcher:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Give the leases back (so another watcher takes over at once) and close the HTTP client."""
        for name, token in list(self._tokens.items()):
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self.ws.store.release_lease, name, self.owner, token)
        self._tokens.clear()
        if self._own_http is not None:
            await self._own_http.aclose()
            self._own_http = None

    @property
    def http(self) -> httpx.AsyncClient:
        """The client for Prometheus and HTTP JSON sources."""
        if self._http is not None:
            return self._http
        if self._own_http is None:
            self._own_http = httpx.AsyncClient(follow_redirects=False)
        return self._own_http

    async def tick(self, now: datetime | None = None) -> list[Evaluated]:
        """Evaluate every monitor that is due at ``now`` (default: the clock) and holds no newer point."""
        at = now or self.clock()
        results: list[Evaluated] = []
        for monitor in self.monitors.values():
            try:
                done = await self.evaluate(monitor, at)
            except Exception:
                # One broken monitor (a bug, the store away for a moment) must not stop the others.
                log.exception("monitor %s could not be evaluated at %s", monitor.name, at.isoformat())
                continue
            if done is not None:
                results.append(done)
        await self.tick_rollouts(at)
        return results

    async def tick_rollouts(self, now: datetime | None = None) -> list[StepResult]:
        """Judge every running rollout whose step is due (``andon.deploy.rollout``), one watcher per rollout."""
        at = now or self.clock()
        done: list[StepResult] = []
        try:
            active = await asyncio.to_thread(self.ws.store.active_rollouts)
        except Exception:
            log.exception("the rollouts could not be read at %s", at.isoformat())
            return done
        await self._finish_rollout_pulls()
        for record in active:
            if record.status != "running" or record.feature not in self.ws.config.features:
                continue
            lease = f"rollout:{record.feature}"
            try:
                token = await asyncio.to_thread(
                    self.ws.store.acquire_lease, lease, self.owner, self.lease_ttl_s, utcnow()
                )
                if token is None:
                    self._tokens.pop(lease, None)
                    continue
                self._tokens[lease] = token
                result = await advance_rollout(self.ws, record, at)
            except Exception:
                # One broken rollout (the store away, a gate refusing the promotion) must not stop the others.
                log.exception("rollout %s of %s could not be advanced", record.id, record.feature)
                continue
            if result.decision != "waiting":
                log.warning(t("rollout.log.decided", id=record.id, feature=record.feature, decision=result.decision))
            done.append(result)
        await asyncio.to_thread(look_all, self.ws)  # experiments stop by themselves once they know
        return done

    async def evaluate(self, monitor: Monitor, now: datetime) -> Evaluated | None:
        """Measure, judge and store ``monitor`` at the tick of ``now``; None if not ours or already done."""
        store = self.ws.store
        ts = aligned(now, monitor.config.interval)
        token = await asyncio.to_thread(store.acquire_lease, monitor.name, self.owner, self.lease_ttl_s, utcnow())
        if token is None:
            self._tokens.pop(monitor.name, None)
            return None
        self._tokens[monitor.name] = token
        errors = await self._finish_pending(monitor)
        saved = await asyncio.to_thread(store.monitor_state, monitor.name)
        if saved is not None and saved.last_ts is not None and saved.last_ts >= ts:
            return None
        measured = await measure(self.ws, monitor, ts, http=self.http)
        # Off the event loop: a detector may take a while (share-cusum solving a limit it has not cached), and
        # the gateway serving in the same process must not wait for it.
        result = await asyncio.to_thread(step, monitor, MonitorState.from_json(saved.state if saved else None), ts,
                                         measured)  # fmt: skip
        for note in result.notes:
            log.warning("monitor %s: %s", monitor.name, note)
        claims = _claims(monitor, result)
        committed = await asyncio.to_thread(
            store.commit_evaluation,
            monitor.name,
            owner=self.owner,
            token=token,
            point=result.point,
            status=result.status,
            state=result.state.to_json(),
            claims=claims,
        )
        if not committed:
            return None  # the lease changed hands, or another watcher stored this tick first
        _log_point(result.point, result.status)
        pulls: list[CordPull] = []
        for claim in claims:
            try:
                pulls.append(await _carry_out(self.ws, claim))
            except AndonError as exc:
                # The pull stays pending in the store; the next tick tries it again.
                log.error("monitor %s: %s %s failed: %s", monitor.name, claim.action, claim.feature, exc)
                errors.append(str(exc))
        return Evaluated(monitor.name, result, pulls, errors)

    async def _finish_rollout_pulls(self) -> None:
        """A failed rollout's cord pull cut short (its traffic is on stable already): its incident is opened now."""
        try:
            pending = await asyncio.to_thread(self.ws.store.cord_pulls, status="pending")
        except Exception:
            log.exception("pending cord pulls could not be read")
            return
        for pull in pending:
            if pull.action != "rollout" or pull.feature not in self.ws.config.features:
                continue
            lease = f"rollout:{pull.feature}"
            try:
                token = await asyncio.to_thread(
                    self.ws.store.acquire_lease, lease, self.owner, self.lease_ttl_s, utcnow()
                )
                if token is None:
                    continue
                self._tokens[lease] = token
                await finish_pending(self.ws, pull)
            except AndonError as exc:
                log.error("the rollout cord pull of %s still fails: %s", pull.feature, exc)

    async def _finish_pending(self, monitor: Monitor) -> list[str]:
        """Pulls claimed for this monitor but not finished (a watcher died mid-action): finish them now."""
        errors: list[str] = []
        pending = await asyncio.to_thread(self.ws.store.cord_pulls, monitor=monitor.name, status="pending")
        for pull in pending:
            try:
                await finish_pending(self.ws, pull)
                log.warning(t("watch.finished_pending", action=pull.action, feature=pull.feature, key=pull.dedupe_key))
            except AndonError as exc:
                log.error("monitor %s: pending %s of %s still fails: %s", monitor.name, pull.action, pull.feature, exc)
                errors.append(str(exc))
        return errors

    async def run(self, stop: asyncio.Event, *, on_tick: Callable[[list[Evaluated]], None] | None = None) -> None:
        """Tick at every monitor's interval until ``stop`` is set; leases are given back at the end."""
        if not self.monitors:
            log.warning(t("watch.no_monitors"))
        try:
            while not stop.is_set():
                results = await self.tick()
                if on_tick is not None:
                    on_tick(results)
                await self.deliver()
                delay = self._until_next_tick()
                if self.ws.config.notifiers or any(f.rollout for f in self.ws.config.features.values()):
                    delay = min(delay, DELIVER_EVERY_S)  # a rollout's step ends on its own time, not a monitor's
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay)
        finally:
            await self.aclose()

    async def deliver(self) -> int:
        """Send the outbox's notifications that are due (at the wall clock), announcing their incidents; how many
        were delivered."""
        if not self.ws.config.notifiers:
            return 0
        try:
            return await deliver_notifications(self.ws)
        except Exception:
            # A receiver or the store away for a moment: the rows stay in the outbox for the next round.
            log.exception("notifications could not be delivered")
            return 0

    def _until_next_tick(self) -> float:
        now = self.clock().timestamp()
        if not self.monitors:
            return 5.0
        due = min(
            aligned(self.clock(), m.config.interval).timestamp() + m.config.interval for m in self.monitors.values()
        )
        # A little after the boundary: a call that ended just before it has its trace committed by then (the
        # gateway's group commit), and a window is never measured again (share-cusum counts each call once).
        settle = min(SETTLE_S, min(m.config.interval for m in self.monitors.values()) / 4)
        return max(0.05, due - now + settle)


async def deliver_until(ws: Workspace, stop: asyncio.Event, *, every_s: float = DELIVER_EVERY_S) -> None:
    """Deliver the outbox (announcing incidents) every ``every_s`` until ``stop`` is set: a plain ``andon serve``
    watches nothing, yet a manual stop's or an Alertmanager pull's notifications still go out, and its rollouts
    move on."""
    async with Watcher(ws, monitors={}) as deliverer:
        while not stop.is_set():
            await deliverer.tick_rollouts()
            await deliverer.deliver()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every_s)


def _claims(monitor: Monitor, result: Step) -> list[PullClaim]:
    """The cord pulls a step decided on, claimed in the same commit as the point."""
    cfg, state, feature = monitor.config, result.state, monitor.feature
    if feature is None or result.decision not in ("act", "resume"):
        return []
    actor = f"monitor:{monitor.name}"
    if result.decision == "resume":
        since = datetime.fromtimestamp(state.ok_since or result.point.ts.timestamp(), UTC).isoformat()
        reason = t("watch.resume_reason", monitor=monitor.name, metric=cfg.metric, reason=result.point.reason)
        return [PullClaim(f"monitor:{monitor.name}:resume:{since}", "resume", feature, actor, reason, monitor.name)]
    assert state.breach_key is not None and state.fail_since is not None
    reason = t("watch.pull_reason", monitor=monitor.name, metric=cfg.metric, reason=result.point.reason)
    detected = datetime.fromtimestamp(result.point.ts.timestamp(), UTC).isoformat()
    return [
        PullClaim(
            state.breach_key,
            action.type,
            feature,
            actor,
            reason,
            monitor.name,
            {"detected_at": detected, "runbook": cfg.runbook, "owner": cfg.owner, "webhook": action.url},
        )
        for action in cfg.actions
    ]


async def _carry_out(ws: Workspace, claim: PullClaim) -> CordPull:
    params: dict[str, Any] = claim.params
    if claim.action == "resume":
        return await release_cord(
            ws,
            claim.feature,
            actor=claim.actor,
            reason=claim.reason,
            monitor=claim.monitor,
            dedupe_key=claim.dedupe_key,
        )
    return await pull_cord(
        ws,
        claim.feature,
        action=claim.action,
        actor=claim.actor,
        reason=claim.reason,
        monitor=claim.monitor,
        detected_at=datetime.fromisoformat(params["detected_at"]),
        dedupe_key=claim.dedupe_key,
        runbook=params.get("runbook"),
        owner=params.get("owner"),
        webhook=params.get("webhook"),
    )


def _log_point(point: WatchPoint, status: str) -> None:
    level = logging.WARNING if point.state in ("fail", "warn") or point.decision else logging.INFO
    log.log(level, "monitor %s at %s: %s (%s)%s", point.monitor, point.ts.isoformat(), status, point.reason,
            f" -> {point.decision}" if point.decision else "")  # fmt: skip


# --- status --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MonitorStatus:
    """What ``andon watch status`` shows for one monitor."""

    name: str
    feature: str | None
    metric: str
    source: str
    detector: str
    mode: str
    status: str  # never evaluated: "new"
    last_ts: datetime | None
    last_value: float | None
    last_state: str | None
    last_reason: str | None
    last_decision: str | None
    breach: str | None
    lease_owner: str | None
    lease_expires_at: datetime | None
    pending_pulls: int
    feature_stopped: bool | None

    def to_json(self) -> dict[str, Any]:
        """Plain JSON (times as ISO 8601)."""
        out: dict[str, Any] = {}
        for key, value in self.__dict__.items():
            out[key] = value.isoformat() if isinstance(value, datetime) else value
        return out


def monitor_status(ws: Workspace, monitors: dict[str, Monitor] | None = None) -> list[MonitorStatus]:
    """Each monitor's state, last value, last verdict and lease, from the store."""
    every = monitors if monitors is not None else build_monitors(ws.config, path=ws.loaded.path)
    # Two reads for every monitor at once (a page lists them all), not five per monitor.
    found = ws.store.monitor_overviews(list(every))
    stopped = ws.store.features_stopped([m.feature for m in every.values() if m.feature is not None])
    out: list[MonitorStatus] = []
    for name, monitor in every.items():
        seen = found[name]
        saved, lease = seen.saved, seen.lease
        state = MonitorState.from_json(saved.state if saved else None)
        feature = monitor.feature
        out.append(
            MonitorStatus(
                name=name,
                feature=feature,
                metric=monitor.config.metric,
                source=monitor.config.source.type,
                detector=monitor.detector_type.type_name,
                mode=monitor.config.mode,
                status=saved.status if saved is not None else "new",
                last_ts=saved.last_ts if saved is not None else None,
                last_value=state.last_value,
                last_state=state.last_state,
                last_reason=state.last_reason,
                last_decision=seen.last_decision,
                breach=state.breach_key,
                lease_owner=lease[0] if lease else None,
                lease_expires_at=lease[2] if lease else None,
                pending_pulls=seen.pending_pulls,
                feature_stopped=stopped[feature] if feature is not None else None,
            )
        )
    return out
