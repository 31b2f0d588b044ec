"""Thumbnails of a case's image variables as ``data:`` URLs, so the HTML report stays one file."""

from __future__ import annotations

import base64
import importlib
import importlib.util
import io
from pathlib import Path
from typing import Any

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")
MAX_ORIGINAL_BYTES = 150_000  # without an image library, larger originals would bloat the report
_MIME = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png", ".webp": "image/webp"}


def is_image_ref(value: object) -> bool:
    """Whether a case variable names a local image file (remote URLs are never fetched or embedded)."""
    if not isinstance(value, str) or "://" in value or value.startswith("data:") or "\n" in value:
        return False
    return value.lower().endswith(IMAGE_SUFFIXES)


def _available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _jpeg_url(data: bytes) -> str:
    return "data:image/jpeg;base64," + base64.b64encode(data).decode("ascii")


def _with_pillow(path: Path, size: int) -> str:
    image_mod: Any = importlib.import_module("PIL.Image")
    ops: Any = importlib.import_module("PIL.ImageOps")
    with image_mod.open(path) as opened:
        image = ops.exif_transpose(opened)
        image.thumbnail((size, size))
        if image.mode != "RGB":
            # JPEG has no alpha: flatten transparent images onto white rather than black.
            rgba = image.convert("RGBA")
            canvas = image_mod.new("RGB", rgba.size, (255, 255, 255))
            canvas.paste(rgba, mask=rgba.getchannel("A"))
            image = canvas
        buffer = io.BytesIO()
        image.save(buffer, format="JPEG", quality=72, optimize=True)
    return _jpeg_url(buffer.getvalue())


def _with_opencv(path: Path, size: int) -> str:
    cv2: Any = importlib.import_module("cv2")
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise ValueError(f"OpenCV cannot read {path}")
    height, width = image.shape[:2]
    scale = size / max(height, width)
    if scale < 1:
        image = cv2.resize(image, (max(1, round(width * scale)), max(1, round(height * scale))), cv2.INTER_AREA)
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 72])
    if not ok:
        raise ValueError(f"OpenCV cannot encode {path}")
    return _jpeg_url(bytes(encoded))


def _original(path: Path) -> str | None:
    data = path.read_bytes()
    if len(data) >= MAX_ORIGINAL_BYTES:
        return None
    return f"data:{_MIME[path.suffix.lower()]};base64," + base64.b64encode(data).decode("ascii")


def thumbnail(path: Path, size: int = 160, backends: tuple[str, ...] = ("pillow", "opencv")) -> str | None:
    """A small ``data:`` URL of the image at ``path``, or None when it cannot be shown (placeholder instead).

    Tries Pillow, then OpenCV (whichever is installed, in ``backends`` order); only when neither is
    installed, the original file if it is under ``MAX_ORIGINAL_BYTES``.
    """
    if not path.is_file() or path.suffix.lower() not in _MIME:
        return None
    makers = {"pillow": ("PIL", _with_pillow), "opencv": ("cv2", _with_opencv)}
    tried = False
    for name in backends:
        module, make = makers[name]
        if _available(module):
            tried = True
            try:
                return make(path, size)
            except Exception:  # a broken or unsupported file: try the next library, then the placeholder
                continue
    if tried:
        return None  # a library could not decode it, so the raw bytes are no image a browser would show either
    try:
        return _original(path)
    except OSError:
        return None


class Thumbnails:
    """Thumbnails of one report's images, each file read once however many cells show it."""

    def __init__(self, dataset_dir: str | None, backends: tuple[str, ...] = ("pillow", "opencv")) -> None:
        self.root = Path(dataset_dir) if dataset_dir else None
        self.backends = backends
        self._cache: dict[Path, str | None] = {}

    def get(self, ref: str) -> str | None:
        """The data URL for an image variable's value, or None for the placeholder."""
        if self.root is None:
            return None
        path = self.root / ref
        if path not in self._cache:
            self._cache[path] = thumbnail(path, backends=self.backends)
        return self._cache[path]
