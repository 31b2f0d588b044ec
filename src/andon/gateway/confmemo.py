"""Results computed from a config once per config, not once per request (a config in service never changes).

An edited andon.yaml is a new config object (``gateway/reload.py``), so it gets fresh entries; only the few most
recent configs are kept, and each keeps at most ``MAX_ENTRIES`` results (callers choose bounded keys).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

MAX_CONFIGS = 4  # the config in service and ones being retired after a reload
MAX_ENTRIES = 1024

_lock = threading.Lock()
# id(config) -> (config, its results); the config is held so its id cannot be reused while the entry lives.
_memo: OrderedDict[int, tuple[object, dict[Hashable, Any]]] = OrderedDict()


def per_config(config: object, key: Hashable, build: Callable[[], T]) -> T:
    """``build()``, computed once for ``(config, key)``; later calls with the same pair get the same object."""
    with _lock:
        entry = _memo.get(id(config))
        if entry is not None and entry[0] is config:
            _memo.move_to_end(id(config))
            results = entry[1]
            if key in results:
                return results[key]  # type: ignore[no-any-return]
        else:
            results = {}
            _memo[id(config)] = (config, results)
            while len(_memo) > MAX_CONFIGS:
                _memo.popitem(last=False)
    value = build()  # outside the lock: a build may be slow; two racing builds give equal values
    with _lock:
        if len(results) < MAX_ENTRIES:
            results[key] = value
    return value
