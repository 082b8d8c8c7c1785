"""File I/O helpers every stage uses: atomic writes, streaming hashes, free-space checks."""

from __future__ import annotations

import contextlib
import ctypes
import errno
import functools
import hashlib
import os
import shutil
import stat
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from llavamix.foundation.errors import ConfigError

CHUNK = 1 << 20  # 1 MiB: large enough that hashlib releases the GIL and syscalls are amortised

PART_SUFFIX = ".part"


def part_path(path: Path) -> Path:
    """The temporary name a file is written under before it is renamed to ``path``."""
    return path.with_name(path.name + PART_SUFFIX)


def fsync_dir(path: Path) -> None:
    """Persist a rename in ``path`` (a folder); a no-op where folders cannot be opened."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def sync_filesystem(path: Path) -> None:
    """Flush the dirty pages of the one filesystem holding ``path`` (Linux ``syncfs``; ``os.sync`` elsewhere).

    Cheaper than an fsync per file when thousands were just written, and unlike ``os.sync`` it does not wait for
    unrelated writes on other filesystems.
    """
    syncfs = _syncfs()
    if syncfs is None:
        os.sync()
        return
    fd = os.open(existing_parent(path), os.O_RDONLY)
    try:
        if syncfs(fd) != 0:
            os.sync()
    finally:
        os.close(fd)


class FlushBehind:
    """Keeps a filesystem writing to its disk while a stage writes many files into it: whenever ``every`` bytes were
    written since the last round began (``wrote``), a thread of its own syncs the filesystem (``syncfs``), at most
    one round at a time and one every ``pause`` seconds. Left alone, the kernel holds up to a tenth of memory
    (gigabytes) of them in its cache before writing any, so the disk idles while the files are written and the
    final sync that makes them durable waits for all of it; behind the writer, the disk works beside it and the
    final sync has little left. Only an advance of the writeback: the stage's own final sync is what makes the
    files durable. A no-op where ``syncfs`` is missing (a whole-system sync would reach other disks)."""

    def __init__(self, path: Path, every: int = 4 << 20, pause: float = 0.02) -> None:
        self.path, self.every, self.pause = path, every, pause
        self._pending = 0
        self._lock = threading.Lock()
        self._due = threading.Event()
        self._closed = threading.Event()
        self.rounds = 0  # syncs made, for the curious
        self._thread: threading.Thread | None = None
        if _syncfs() is not None:
            self._thread = threading.Thread(target=self._run, name="llavamix-flush", daemon=True)
            self._thread.start()

    def wrote(self, n: int) -> None:
        with self._lock:
            self._pending += n
            if self._pending < self.every:
                return
            self._pending = 0
        self._due.set()

    def close(self) -> None:
        self._closed.set()
        self._due.set()
        if self._thread is not None:
            self._thread.join()

    def __enter__(self) -> FlushBehind:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self) -> None:
        while True:
            self._due.wait()
            if self._closed.is_set():
                return
            self._due.clear()
            began = time.monotonic()
            with contextlib.suppress(OSError):  # advice only: the stage's final sync reports what fails
                sync_filesystem(self.path)
            self.rounds += 1
            self._closed.wait(max(0.0, self.pause - (time.monotonic() - began)))


def _syncfs() -> Callable[[int], int] | None:
    """libc's ``syncfs`` (Linux), or None."""
    return getattr(_libc(), "syncfs", None)


@functools.cache
def _libc() -> ctypes.CDLL | None:
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def commit(tmp: Path, final: Path, *, durable: bool = False) -> None:
    """Rename a finished temporary file to its final name (atomic on one filesystem)."""
    if durable:
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
    os.replace(tmp, final)
    if durable:
        fsync_dir(final.parent)


@contextlib.contextmanager
def atomic_writer(path: Path, mode: str = "wb", *, durable: bool = True) -> Iterator[IO]:
    """Open ``path.part`` for writing; on success rename it to ``path``, on error remove it.

    A reader therefore never sees a half-written file at ``path``.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = part_path(path)
    try:
        with open(tmp, mode) as fh:
            yield fh
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
        if durable:
            fsync_dir(path.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write_bytes(path: Path, data: bytes, *, durable: bool = True) -> None:
    with atomic_writer(path, "wb", durable=durable) as fh:
        fh.write(data)


def atomic_write_text(path: Path, text: str, *, durable: bool = True) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), durable=durable)


class NotRegularFileError(OSError):
    """A path names a FIFO, device, socket or folder where a regular file was expected."""


def open_regular(path: Path | str) -> IO[bytes]:
    """Open ``path`` for reading only if it is a regular file (after following symbolic links).

    ``O_NONBLOCK`` keeps a FIFO from blocking the open; the type is checked on the open descriptor, so the file
    cannot be swapped between the check and the read. Anything else raises NotRegularFileError.
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotRegularFileError(errno.EINVAL, f"not a regular file ({file_kind(mode)})", os.fspath(path))
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def file_kind(mode: int) -> str:
    """What a non-regular ``st_mode`` names, for messages: ``'a FIFO'``, ``'a character device'``, ..."""
    for test, name in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a file"


def read_regular(path: Path | str) -> bytes:
    """The bytes of the regular file ``path``, at most its size when opened (a file that grows is not chased)."""
    with open_regular(path) as fh:
        size = os.fstat(fh.fileno()).st_size
        return fh.read(size)


def new_hasher(algo: str) -> hashlib._Hash:
    """A hashlib object for ``md5`` or ``sha256`` (names as the catalog spells them)."""
    if algo == "md5":
        return hashlib.md5(usedforsecurity=False)
    return hashlib.new(algo)


def hash_file(path: Path, algo: str, *, start: int = 0) -> str:
    """Hex digest of ``path`` (from byte ``start``), read in 1 MiB chunks."""
    h = new_hasher(algo)
    update_from_file(h, path, stop=None, start=start)
    return h.hexdigest()


def update_from_file(
    h: hashlib._Hash,
    path: Path,
    *,
    stop: int | None = None,
    start: int = 0,
    check: Callable[[], None] | None = None,
    hashed: Callable[[int], None] | None = None,
) -> None:
    """Feed bytes ``[start, stop)`` of ``path`` into hasher ``h``; ``check`` runs before each chunk (a stop request
    raises there, so hashing a 30 GB file does not hold up Ctrl-C), ``hashed`` after it with its length (progress)."""
    with open(path, "rb") as fh:
        fh.seek(start)
        remaining = None if stop is None else stop - start
        while remaining is None or remaining > 0:
            if check is not None:
                check()
            want = CHUNK if remaining is None else min(CHUNK, remaining)
            chunk = fh.read(want)
            if not chunk:
                break
            h.update(chunk)
            if hashed is not None:
                hashed(len(chunk))
            if remaining is not None:
                remaining -= len(chunk)


def ensure_writable(folder: Path, role: str) -> None:
    """Create ``folder`` if needed and check a file can be written in it; ConfigError saying so otherwise.

    Run before long work so an unwritable root fails once, at once, rather than once per source.
    """
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise ConfigError(
            f"cannot write to the {role} {folder}: {exc.strerror or exc}; choose a folder you can write to"
        ) from None


def free_bytes(path: Path) -> int:
    """Free bytes on the filesystem holding ``path`` (or its nearest existing parent)."""
    return shutil.disk_usage(existing_parent(path)).free


def existing_parent(path: Path) -> Path:
    """``path`` or its nearest existing parent."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def same_file(a: Path, b: Path) -> bool:
    """Whether ``a`` and ``b`` name the same file (through ``..``, symlinks or hard links); guards inputs from
    being overwritten by an output option."""
    a, b = Path(a), Path(b)
    if a.resolve() == b.resolve():
        return True
    try:
        return a.samefile(b)
    except OSError:  # either does not exist yet
        return False


def human_bytes(n: float) -> str:
    """``1536`` -> ``'1.5 KiB'``; for messages and tables."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"
