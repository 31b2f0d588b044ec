"""Images in messages: a path, URL, data URL or bytes as a message part (a data URL for local files)."""

from __future__ import annotations

import base64
import mimetypes
from pathlib import Path
from typing import Any

from andon.errors import TemplateError
from andon.messages import t
from andon.providers.base import ImagePart

_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"RIFF", "image/webp"),
    (b"BM", "image/bmp"),
)
MAX_IMAGE_BYTES = 20 * 1024 * 1024


def image_data_url(data: bytes, name: str = "") -> str:
    """Encode image bytes as a ``data:`` URL, sniffing the type from its first bytes."""
    mime = next((m for sig, m in _SIGNATURES if data.startswith(sig)), None)
    if mime is None:
        mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def image_part(value: Any, base_dir: Path | None, where: str) -> ImagePart:
    """An image variable (path, URL, data URL or bytes) as a message part."""
    if isinstance(value, bytes | bytearray):
        return ImagePart(image_data_url(bytes(value)))
    if not isinstance(value, str | Path):
        raise TemplateError(
            t("house2.render.image_type", type=type(value).__name__),
            where=where,
            hint=t("house2.render.image_type_hint"),
        )
    text = str(value)
    if text.startswith(("http://", "https://", "data:")):
        return ImagePart(text)
    path = Path(text)
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    try:
        size = path.stat().st_size
    except OSError:
        raise TemplateError(t("house2.render.image_missing", path=path), where=where) from None
    if size > MAX_IMAGE_BYTES:
        raise TemplateError(t("house2.render.image_size", path=path, size=size, limit=MAX_IMAGE_BYTES), where=where)
    return ImagePart(image_data_url(path.read_bytes(), path.name))
