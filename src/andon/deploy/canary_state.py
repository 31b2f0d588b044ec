"""The one change both the rollout and the cord make: a canary's traffic sent back to the stable version."""

from __future__ import annotations

from andon.errors import AndonError
from andon.messages import t
from andon.store.rollouts import NewRolloutEvent, RolloutRecord
from andon.workspace import Workspace

__all__ = ["degrade"]


def degrade(ws: Workspace, rollout_id: str, *, actor: str, reason: str) -> RolloutRecord:
    """Traffic back to stable and the rollout marked degraded; a rollout that already ended is left as it is."""
    for _attempt in range(3):
        record = ws.store.get_rollout(rollout_id)
        if not record.active:
            return record
        done = ws.store.change_rollout(record.id, record.revision, {"status": "degraded", "weight": 0},
                                       [NewRolloutEvent("degraded", record.step, actor, reason)])  # fmt: skip
        if done is not None:
            return done
    raise AndonError(t("rollout.busy", feature=rollout_id))
