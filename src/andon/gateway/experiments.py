"""The gateway's side of A/B experiments: the running experiment's sticky split picks a call's version.

A call without the experiment's unit key (its user, session or tenant id) is served the live version and
is not part of the experiment. The trace's tags name the experiment and the arm (``andon.experiment``,
``andon.arm``), which is what the analysis reads.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from andon.deploy.assignment import Split, choose, unit_key
from andon.deploy.experiment import experiment_split
from andon.gateway.call import Call
from andon.store.experiments import ARM_TAG, EXPERIMENT_TAG, ExperimentRecord
from andon.versions.canonical import Version
from andon.workspace import Workspace

__all__ = ["ExperimentPicker"]


class ExperimentPicker:
    """Finds a feature's running experiment (cached for ``ttl_s``) and serves each unit its arm's version."""

    def __init__(self, ws: Workspace, ttl_s: float) -> None:
        self.ws = ws
        self.ttl_s = ttl_s
        self._splits: dict[str, tuple[float, Split | None]] = {}

    def stale(self, feature: str, now: float) -> bool:
        """Whether the feature's experiment must be read from the store (not cached, or expired) at ``now``."""
        cached = self._splits.get(feature)
        return cached is None or cached[0] <= now

    async def _split(self, feature: str, read: bool, record: ExperimentRecord | None) -> Split | None:
        now = time.monotonic()
        cached = self._splits.get(feature)
        if cached is not None and cached[0] > now:
            return cached[1]
        if not read:
            record = await asyncio.to_thread(self.ws.store.active_experiment, feature)
        split = experiment_split(record)
        if self.ttl_s > 0:
            self._splits[feature] = (now + self.ttl_s, split)
        return split

    async def pick(
        self,
        call: Call,
        version: Callable[[str, str], Awaitable[Version]],
        *,
        read: bool = False,
        record: ExperimentRecord | None = None,
    ) -> None:
        """Serve ``call`` its unit's arm when an experiment runs (a rollout's choice, if any, stands).

        ``read``: the caller has just read the feature's running experiment (``record``; else it is read here).
        """
        if call.split_tags:
            return
        split = await self._split(call.feature, read, record)
        if split is None:
            return
        caller = call.caller
        unit = unit_key(split.sticky, user_id=caller.user_id, session_id=caller.session_id, tenant=caller.tenant,
                        call_id=call.trace_id)  # fmt: skip
        if unit is None:
            return
        arm = choose(split, unit)
        call.version = await version(call.feature, arm.version_id)
        call.split_tags = {EXPERIMENT_TAG: split.split_id, ARM_TAG: arm.label}
