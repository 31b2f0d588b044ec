"""How deeply a JSON text nests, found without parsing it, so a too-deep body is refused before any parser runs.

Recursive code (JSON parsers, validators, the store's checks) fails past a few hundred levels; no real
request nests anywhere near :data:`MAX_JSON_DEPTH`.
"""

from __future__ import annotations

import re

MAX_JSON_DEPTH = 64  # levels of arrays and objects in one request body (documented in the README)

# A JSON string (escapes included); what is inside one is text, not structure.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def nesting_depth(text: bytes | str, *, stop_after: int | None = None) -> int:
    """The deepest level of arrays and objects in ``text`` (0 for a scalar); brackets in strings do not count.

    With ``stop_after``, the scan ends as soon as the depth passes it (the answer is then ``stop_after + 1``).
    Text that is not JSON gets a number too; the parser refuses it afterwards.
    """
    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
    brackets = _STRING.sub(b"", data).translate(None, _NOT_BRACKETS)
    level = deepest = 0
    for byte in brackets:
        if byte in b"[{":
            level += 1
            if level > deepest:
                deepest = level
                if stop_after is not None and deepest > stop_after:
                    return deepest
        else:
            level -= 1
    return deepest
