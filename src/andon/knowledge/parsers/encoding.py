"""Text encodings of Korean files: UTF-8 first, then CP949 (a superset of EUC-KR), with the guess recorded."""

from __future__ import annotations

import codecs

# Tried in order; the first that decodes without an error wins. CP949 before latin-1, which decodes anything.
_STRICT = ("utf-8", "euc-kr", "cp949")


def decode(data: bytes) -> tuple[str, str]:
    """``(text, encoding)``: a BOM decides; else the first strict decoder that succeeds; else a detector's guess."""
    for bom, name in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return data.decode(name), name
    for name in _STRICT:
        try:
            return data.decode(name), name
        except UnicodeDecodeError:
            continue
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - requests brings it in practice
        best = None
    else:
        best = from_bytes(data).best()
    if best is not None:
        return str(best), f"{best.encoding} (guessed)"
    return data.decode("latin-1"), "latin-1 (fallback)"
