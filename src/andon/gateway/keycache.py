"""Verified API keys kept in memory for a few seconds, so a call does not read the store to check its key.

Only keys the store knows are kept (an unknown secret is looked up every time, so random secrets cannot
fill the memory). A key revoked by another process (``andon keys revoke``) is refused once its entry
expires, at most ``ttl_s`` later; ``forget`` drops an entry at once for a revocation in this process.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable

from andon.store.keys import ApiKeyRecord


class KeyCache:
    """A small LRU of secret hash → key record, each entry valid for ``ttl_s`` seconds."""

    def __init__(self, ttl_s: float, *, capacity: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.capacity = capacity
        self._clock = clock
        self._entries: OrderedDict[str, tuple[ApiKeyRecord, float]] = OrderedDict()
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        """Whether entries are kept at all (``ttl_s`` 0 turns the cache off)."""
        return self.ttl_s > 0

    def get(self, secret_hash: str) -> ApiKeyRecord | None:
        """The cached record for ``secret_hash`` while it is fresh, else None."""
        now = self._clock()
        with self._lock:
            entry = self._entries.get(secret_hash)
            if entry is None:
                return None
            record, expires = entry
            if now >= expires:
                del self._entries[secret_hash]
                return None
            self._entries.move_to_end(secret_hash)
            return record

    def put(self, secret_hash: str, record: ApiKeyRecord) -> None:
        """Keep ``record`` (an active key) for ``ttl_s`` seconds; revoked keys are never kept."""
        if not self.enabled or not record.active:
            return
        with self._lock:
            self._entries[secret_hash] = (record, self._clock() + self.ttl_s)
            self._entries.move_to_end(secret_hash)
            while len(self._entries) > self.capacity:
                self._entries.popitem(last=False)

    def forget(self, key_id: str | None = None) -> None:
        """Drop the entries of key ``key_id`` (all entries when None), e.g. right after a revocation."""
        with self._lock:
            if key_id is None:
                self._entries.clear()
                return
            for secret_hash in [h for h, (r, _) in self._entries.items() if r.id == key_id]:
                del self._entries[secret_hash]
