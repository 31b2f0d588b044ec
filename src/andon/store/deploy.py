"""Live-version history and audited feature state (stop/resume, data-use grants) in the store."""

from __future__ import annotations

from andon.store._base import StoreBase


class DeployMixin(StoreBase):
    """Live versions and audited feature state (methods of :class:`andon.store.Store`)."""
