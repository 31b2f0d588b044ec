"""The human review queue in the store."""

from __future__ import annotations

from andon.store._base import StoreBase


class ReviewsMixin(StoreBase):
    """The human review queue (methods of :class:`andon.store.Store`)."""
