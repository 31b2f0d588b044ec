"""Gateway traces and feedback in the store."""

from __future__ import annotations

from andon.store._base import StoreBase


class TracesMixin(StoreBase):
    """Gateway traces and feedback (methods of :class:`andon.store.Store`)."""
