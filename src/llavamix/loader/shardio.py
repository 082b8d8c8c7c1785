"""Opening one shard of a pack for one front-to-back pass: a local file, or an fsspec URL read ahead in a thread
(so a remote shard streams at link speed while samples decode), optionally kept in a local cache folder."""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from llavamix.foundation.storage import StorageOptions, filesystem, is_url, local_path

CHUNK = 8 << 20  # one read-ahead request
DEPTH = 4  # read-ahead requests in flight or waiting per open shard


@dataclass(frozen=True)
class ShardSource:
    """Where a pack's shards are: ``base`` (a folder or a URL prefix), fsspec ``options``, an optional local
    ``cache`` folder for remote shards."""

    base: str
    options: StorageOptions = field(default_factory=dict)
    cache: Path | None = None

    def target(self, name: str) -> str:
        return f"{self.base.rstrip('/')}/{name}"


def open_source(target: str, options: StorageOptions) -> IO[bytes]:
    """The raw file of ``target``: a local file, or the fsspec file (seekable, its own small buffer)."""
    if not is_url(target):
        return open(local_path(target), "rb")
    fs, path = filesystem(target, options)
    opened: IO[bytes] = fs.open(path, "rb", block_size=CHUNK, cache_type="none")
    return opened


class ReadAhead:
    """A read-only stream over a file whose next chunks a thread reads while the caller consumes earlier ones."""

    def __init__(self, raw: IO[bytes], chunk: int = CHUNK, depth: int = DEPTH) -> None:
        self.raw, self.chunk = raw, chunk
        self.chunks: queue.Queue[bytes | BaseException] = queue.Queue(depth)
        self.stop = threading.Event()
        self.buffer = memoryview(b"")
        self.done = False
        self.thread = threading.Thread(target=self._fill, name="llavamix-readahead", daemon=True)
        self.thread.start()

    def _fill(self) -> None:
        try:
            while not self.stop.is_set():
                data = self.raw.read(self.chunk)
                self._put(data)
                if not data:
                    return
        except Exception as exc:  # noqa: BLE001  # handed to the reader, which raises it where it reads
            self._put(exc)

    def _put(self, item: bytes | BaseException) -> None:
        while not self.stop.is_set():
            with contextlib.suppress(queue.Full):
                self.chunks.put(item, timeout=0.1)
                return

    def _next(self) -> None:
        item = self.chunks.get()
        if isinstance(item, BaseException):
            raise item
        self.done = not item
        self.buffer = memoryview(item)

    def read(self, size: int = -1) -> bytes:
        parts: list[bytes] = []
        while (size < 0 or size > 0) and not self.done:
            if not self.buffer:
                self._next()
                continue
            n = len(self.buffer) if size < 0 else min(size, len(self.buffer))
            parts.append(bytes(self.buffer[:n]))
            self.buffer = self.buffer[n:]
            size -= n if size >= 0 else 0
        return b"".join(parts)

    def close(self) -> None:
        self.stop.set()
        self.thread.join()
        self.raw.close()

    def __enter__(self) -> ReadAhead:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


@contextlib.contextmanager
def open_shard(source: ShardSource, name: str, size: int, *, seekable: bool) -> Iterator[IO[bytes]]:
    """Shard ``name`` (``size`` bytes by the manifest, 0: unknown) opened for one pass; ``seekable`` readers
    (Parquet) get the file itself, streaming ones (tar) a read-ahead stream. A remote shard with a cache folder
    is copied there whole first (read ahead), and read from there, then and in later epochs."""
    target = source.target(name)
    if is_url(target) and source.cache is not None:
        target = str(cached(source, source.cache, name, size))
    raw = open_source(target, source.options)
    if seekable or not is_url(target):
        with raw:
            yield raw
        return
    with ReadAhead(raw) as stream:
        yield stream  # type: ignore[misc]  # a file-like reader: read() is all a tar stream uses


def cached(source: ShardSource, cache: Path, name: str, size: int) -> Path:
    """The copy in ``cache`` of remote shard ``name``, fetched when missing or of another size."""
    key = hashlib.sha256(source.target(name).encode()).hexdigest()[:16]
    path = cache / f"{key}-{name}"
    if path.is_file() and (size == 0 or path.stat().st_size == size):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    # a name of its own per process: two ranks of one node may fetch the same shard at once; the rename is atomic
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.part")
    try:
        with ReadAhead(open_source(source.target(name), source.options)) as src, open(tmp, "wb") as out:
            shutil.copyfileobj(src, out, CHUNK)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
