"""API keys (hashed at rest) in the store."""

from __future__ import annotations

from andon.store._base import StoreBase


class KeysMixin(StoreBase):
    """API keys (hashed at rest) (methods of :class:`andon.store.Store`)."""
