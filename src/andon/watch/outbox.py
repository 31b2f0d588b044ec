"""Notifications through the store's outbox: which notifiers hear of a stage, and delivery with retries.

:func:`notifications_for` builds the rows that ``watch.incidents`` writes in the same transaction as the
incident change. :func:`deliver_due` sends the rows that are due, each under a lease (so concurrent
deliverers never send one row twice), with exponential backoff after a failure; a restarted process picks
up whatever is still pending. De-duplication is by the row's key ``INCIDENT:STAGE:NOTIFIER``.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from andon.config.schema import NotifierConfig, WorkspaceConfig
from andon.errors import AndonError, ConfigError
from andon.messages import t
from andon.store.models import utcnow
from andon.store.outbox import NewNotification, OutboxRecord
from andon.watch.notify.base import Message, Notification, Notifier, NotifyError
from andon.watch.notify.registry import build_notifier
from andon.workspace import Workspace

log = logging.getLogger("andon.watch.outbox")

LEASE_MARGIN_S = 30.0  # a claimed row is someone else's to retry only after its send could have timed out
BATCH = 50
OnDelivered = Callable[[OutboxRecord, datetime], Awaitable[None]]
SUBJECT_MAX, STEP_MAX = 64, 30  # the outbox's incident_id and stage columns


def notifications_for(config: WorkspaceConfig, payload: Mapping[str, Any]) -> list[NewNotification]:
    """One outbox row per notifier of ``notifiers:`` that wants this feature and stage."""
    feature, stage = str(payload["feature"]), str(payload["stage"])
    return [
        NewNotification(incident_id=str(payload["incident_id"]), stage=stage, notifier=name, payload=dict(payload))
        for name, notifier in config.notifiers.items()
        if _wants(notifier, feature, stage)
    ]


def message_notifications(
    config: WorkspaceConfig, message: Message, *, subject: str, step: str, notifiers: Sequence[str] | None = None
) -> list[NewNotification]:
    """One outbox row per notifier (all of ``notifiers:``, or those named) for a message that is no incident.

    The row's key is ``SUBJECT:STEP:NOTIFIER`` (e.g. a key result and the day of its reminder), so writing
    the same message again the same step is a no-op: it is delivered once, however often it is written.
    """
    names = list(config.notifiers) if notifiers is None else list(notifiers)
    unknown = [name for name in names if name not in config.notifiers]
    if unknown:
        raise ConfigError(
            t("house3.outbox.unknown", names=", ".join(map(repr, unknown))),
            hint=t("house3.outbox.known", known=", ".join(config.notifiers) or t("house3.outbox.none")),
        )
    if len(subject) > SUBJECT_MAX or len(step) > STEP_MAX:
        raise ValueError(f"subject {subject!r} or step {step!r} too long for the outbox")
    payload = message.payload()
    return [NewNotification(incident_id=subject, stage=step, notifier=name, payload=payload) for name in names]


def _wants(notifier: NotifierConfig, feature: str, stage: str) -> bool:
    return (notifier.features is None or feature in notifier.features) and (
        notifier.stages is None or stage in notifier.stages
    )


def backoff(config: NotifierConfig, attempts: int, key: str) -> float:
    """Seconds before attempt ``attempts + 1``: base · 2^(attempts-1), capped, spread by up to 10 % per row."""
    delay = min(config.backoff_base_s * 2.0 ** max(0, attempts - 1), config.backoff_max_s)
    # Deterministic spread (no random draw): rows that failed together do not all come back together.
    spread = int.from_bytes(hashlib.sha256(f"{key}:{attempts}".encode()).digest()[:2], "big") / 65535
    return delay * (1 + 0.1 * spread)


async def deliver_due(ws: Workspace, *, now: datetime | None = None, on_delivered: OnDelivered | None = None) -> int:
    """Deliver notifications that are due (retries with backoff); returns how many were delivered.

    ``on_delivered(row, at)`` runs after each delivery is recorded (``watch.incidents.deliver`` announces there).
    """
    at = now or utcnow()
    token = secrets.token_hex(16)
    timeouts = [n.timeout_s for n in ws.config.notifiers.values()] or [10.0]
    lease = timedelta(seconds=max(timeouts) + LEASE_MARGIN_S)
    delivered = 0
    built: dict[str, Notifier | AndonError] = {}
    while True:
        rows = await asyncio.to_thread(ws.store.claim_notifications, now=at, token=token, lease=lease, limit=BATCH)
        if not rows:
            return delivered
        results = await asyncio.gather(*(_deliver(ws, row, token, at, built, on_delivered) for row in rows))
        delivered += sum(results)
        if len(rows) < BATCH:
            return delivered


async def _deliver(
    ws: Workspace,
    row: OutboxRecord,
    token: str,
    at: datetime,
    built: dict[str, Notifier | AndonError],
    on_delivered: OnDelivered | None,
) -> bool:
    config = ws.config.notifiers.get(row.notifier)
    if config is None:
        await asyncio.to_thread(
            ws.store.mark_retry, row.id, token, error=f"notifier {row.notifier!r} is no longer in andon.yaml",
            next_attempt_at=None,
        )  # fmt: skip
        return False
    notifier = built.get(row.notifier)
    if notifier is None:
        try:
            notifier = build_notifier(row.notifier, config, language=ws.config.language)
        except AndonError as exc:
            notifier = exc
        built[row.notifier] = notifier
    if isinstance(notifier, AndonError):
        await asyncio.to_thread(ws.store.mark_retry, row.id, token, error=notifier.message, next_attempt_at=None)
        return False
    note = Notification(delivery_id=row.dedupe_key, incident_id=row.incident_id, stage=row.stage, payload=row.payload)
    try:
        await asyncio.wait_for(notifier.send(note), timeout=config.timeout_s + 5)
    except NotifyError as exc:
        return await _failed(ws, row, token, at, config, exc.message, exc.retryable, exc.retry_after)
    except TimeoutError:
        return await _failed(ws, row, token, at, config, f"{row.notifier}: timed out", True, None)
    except Exception as exc:  # a plugin's bug must not stop the other deliveries
        safe = getattr(notifier, "safe", lambda text: text)
        return await _failed(ws, row, token, at, config, safe(f"{row.notifier}: {type(exc).__name__}"), True, None)
    delivered_at = utcnow()
    await asyncio.to_thread(ws.store.mark_delivered, row.id, at=delivered_at)
    if on_delivered is not None:
        try:
            await on_delivered(row, delivered_at)
        except Exception:
            # It was delivered all the same: what follows from it must not send it again.
            log.exception("after delivering %s", row.dedupe_key)
    return True


async def _failed(
    ws: Workspace,
    row: OutboxRecord,
    token: str,
    at: datetime,
    config: NotifierConfig,
    error: str,
    retryable: bool,
    retry_after: float | None,
) -> bool:
    attempts = row.attempts + 1
    give_up = not retryable or attempts >= config.max_attempts
    wait = max(backoff(config, attempts, row.dedupe_key), retry_after or 0.0)
    next_at = None if give_up else at + timedelta(seconds=wait)
    log.warning("notification %s attempt %d failed: %s", row.dedupe_key, attempts, error)
    await asyncio.to_thread(ws.store.mark_retry, row.id, token, error=error, next_attempt_at=next_at)
    return False
