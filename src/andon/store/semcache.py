"""The gateway's answer cache entries in the store."""

from __future__ import annotations

from andon.store._base import StoreBase


class SemanticCacheMixin(StoreBase):
    """The gateway's answer cache entries (methods of :class:`andon.store.Store`)."""
