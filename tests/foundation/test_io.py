"""Foundation I/O: atomic writes never leave a partial file, hashing, writability and free-space checks."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from llavamix.foundation import io
from llavamix.foundation.errors import ConfigError
from llavamix.foundation.io import (
    atomic_write_bytes,
    atomic_writer,
    ensure_writable,
    free_bytes,
    hash_file,
    human_bytes,
    part_path,
    sync_filesystem,
)


def test_atomic_writer_renames_on_success(tmp_path: Path) -> None:
    out = tmp_path / "sub" / "a.json"
    with atomic_writer(out) as fh:
        fh.write(b"[1]")
        assert part_path(out).exists() and not out.exists()
    assert out.read_bytes() == b"[1]"
    assert not part_path(out).exists()


def test_atomic_writer_keeps_the_old_file_on_error(tmp_path: Path) -> None:
    out = tmp_path / "a.json"
    atomic_write_bytes(out, b"old")
    with pytest.raises(RuntimeError, match="killed"), atomic_writer(out) as fh:
        fh.write(b"half")
        raise RuntimeError("killed")
    assert out.read_bytes() == b"old"
    assert not part_path(out).exists()


def test_hash_file_matches_hashlib_from_an_offset(tmp_path: Path) -> None:
    data = bytes(range(256)) * 9000  # larger than one read chunk
    path = tmp_path / "f"
    path.write_bytes(data)
    assert hash_file(path, "md5") == hashlib.md5(data).hexdigest()
    assert hash_file(path, "sha256", start=1000) == hashlib.sha256(data[1000:]).hexdigest()


def test_ensure_writable_creates_or_explains(tmp_path: Path) -> None:
    ensure_writable(tmp_path / "new" / "root", "data root")
    assert (tmp_path / "new" / "root").is_dir()
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="cannot write to the data root"):
        ensure_writable(tmp_path / "file" / "below", "data root")


def test_free_bytes_and_sync_accept_paths_not_created_yet(tmp_path: Path) -> None:
    assert free_bytes(tmp_path / "not" / "yet") > 0
    sync_filesystem(tmp_path / "not" / "yet")


@pytest.mark.parametrize(("n", "text"), [(0, "0 B"), (1536, "1.5 KiB"), (3 * 1024**3, "3.0 GiB")])
def test_human_bytes(n: int, text: str) -> None:
    assert human_bytes(n) == text


def test_hashing_a_file_stops_at_the_first_check_that_raises(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(b"x" * (3 * io.CHUNK + 5))
    seen: list[int] = []

    def check() -> None:
        seen.append(1)
        if len(seen) == 2:
            raise KeyboardInterrupt("stop")

    h = hashlib.sha256()
    with pytest.raises(KeyboardInterrupt, match="stop"):
        io.update_from_file(h, path, check=check)
    assert len(seen) == 2  # checked before each chunk, and nothing read after the stop
    assert h.hexdigest() == hashlib.sha256(b"x" * io.CHUNK).hexdigest()


@pytest.mark.parametrize("kind", ["fifo", "device", "folder"])
def test_only_regular_files_are_opened_and_a_fifo_never_blocks(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "image.jpg"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        path.symlink_to("/dev/zero")
    else:
        path.mkdir()
    expected = {"fifo": "a FIFO", "device": "a character device", "folder": "a folder"}[kind]
    with pytest.raises(io.NotRegularFileError, match=rf"not a regular file \({expected}\)"):
        io.read_regular(path)  # a FIFO without a writer would block a plain open() forever


def test_read_regular_reads_a_regular_file_through_a_link(tmp_path: Path) -> None:
    (tmp_path / "real.bin").write_bytes(b"abc")
    (tmp_path / "link.bin").symlink_to(tmp_path / "real.bin")
    assert io.read_regular(tmp_path / "link.bin") == b"abc"
