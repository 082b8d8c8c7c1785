"""A partial download (``<dest>.part``), resumable across runs: appended to on one connection (``PartFile``), or
written at offsets by several (``SpreadPart``, with its segment map); either is hashed as it grows."""

from __future__ import annotations

import contextlib
import hashlib
import os
import queue
import threading
from pathlib import Path

from llavamix.fetch import segments
from llavamix.fetch.segments import SegmentMap
from llavamix.foundation.io import CHUNK, atomic_write_text, commit, new_hasher, part_path, update_from_file
from llavamix.foundation.tasks import CANCEL

Hashed = tuple["hashlib._Hash", int]  # a hash object and how many bytes from the file's start it has taken in

VALIDATOR_SUFFIX = ".part.validator"
QUEUE_CHUNKS = 64  # chunks waiting to be hashed; bounds the memory a slow hash can hold
FLUSH_EVERY = 16 << 20  # bytes of a spread part's start read back for its digest before they are sent to disk


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Start writing a range's dirty pages to disk without waiting for it: on Linux, DONTNEED starts their
    writeback (and lets the clean ones go: a download's bytes are not read again from the cache), so the final
    fsync has little left to wait for."""
    if hasattr(os, "posix_fadvise"):
        with contextlib.suppress(OSError):  # advice only: the final fsync makes the file durable anyway
            os.posix_fadvise(fd, offset, length, os.POSIX_FADV_DONTNEED)


class Writeback:
    """Hands a growing file's start to the disk every FLUSH_EVERY bytes (``upto``); thread-safe."""

    def __init__(self, fd: int, start: int) -> None:
        self._fd, self._sent = fd, start
        self._lock = threading.Lock()

    def upto(self, end: int) -> None:
        with self._lock:
            start = self._sent
            if end - start < FLUSH_EVERY:
                return
            self._sent = end
        start_writeback(self._fd, start, end - start)


class BackgroundHash:
    """A hashlib object fed on a worker thread, so hashing overlaps with receiving and writing (hashlib drops the
    GIL on large updates); md5 alone is slower than a fast link."""

    def __init__(self, h: hashlib._Hash) -> None:
        self.h = h
        self._queue: queue.Queue[bytes | None] = queue.Queue(QUEUE_CHUNKS)
        self._thread = threading.Thread(target=self._run, name="llavamix-hash", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            self.h.update(chunk)

    def update(self, chunk: bytes) -> None:
        self._queue.put(chunk)

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def hexdigest(self) -> str:
        self.close()
        return self.h.hexdigest()


def validator_path(dest: Path) -> Path:
    """Where the ETag/Last-Modified of a partial download is kept, so a resume can send ``If-Range``."""
    return dest.with_name(dest.name + VALIDATOR_SUFFIX)


class PartFile:
    """``<dest>.part`` opened for appending; its digest covers every byte in it, resumed or not."""

    def __init__(self, dest: Path, algo: str | None, hashed: Hashed | None = None) -> None:
        self.dest = dest
        self.path = part_path(dest)
        self.algo = algo
        dest.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.path, "ab", buffering=0)  # noqa: SIM115 (kept open across writes; close() ends it)
        self.size = self._fh.tell()
        self._writeback = Writeback(self._fh.fileno(), self.size)
        self.resumed = self.size > 0
        self._hash = self._new_hash(hashed)
        meta = validator_path(dest)
        self.validator = meta.read_text(encoding="utf-8") if self.size and meta.is_file() else None

    def _new_hash(self, hashed: Hashed | None = None) -> BackgroundHash | None:
        if not self.algo:
            return None
        h, start = hashed if hashed is not None and hashed[1] <= self.size else (new_hasher(self.algo), 0)
        if self.size > start:  # the resumed prefix counts too
            update_from_file(h, self.path, start=start, stop=self.size, check=CANCEL.check)
        return BackgroundHash(h)

    def detach(self) -> Hashed | None:
        """Close the file and hand over the digest of its bytes so far (a spread download continues it)."""
        self._fh.close()
        if self._hash is None:
            return None
        self._hash.close()
        return self._hash.h, self.size

    def write(self, chunk: bytes) -> None:
        view = memoryview(chunk)
        while view:  # unbuffered: a short write is possible
            view = view[self._fh.write(view) :]
        if self._hash is not None:
            self._hash.update(chunk)
        self.size += len(chunk)
        self._writeback.upto(self.size)

    def remember(self, validator: str | None) -> None:
        """Keep the validator of the bytes being written (only meaningful for a part started from zero)."""
        self.validator = validator
        meta = validator_path(self.dest)
        if validator:
            atomic_write_text(meta, validator, durable=False)
        else:
            meta.unlink(missing_ok=True)

    def reset(self) -> None:
        """Throw the bytes away and start again from zero."""
        self._fh.truncate(0)
        self._fh.seek(0)
        self.size = 0
        self._writeback = Writeback(self._fh.fileno(), 0)
        if self._hash is not None:
            self._hash.close()
        self._hash = self._new_hash()
        self.remember(None)

    def hexdigest(self) -> str | None:
        return self._hash.hexdigest() if self._hash is not None else None

    def close(self) -> None:
        self._fh.close()
        if self._hash is not None:
            self._hash.close()

    def commit(self) -> None:
        """Rename the finished part to its final name."""
        self.close()
        commit(self.path, self.dest, durable=True)
        validator_path(self.dest).unlink(missing_ok=True)

    def abandon(self) -> None:
        """Stop for now: keep the bytes for a later resume, but leave no empty part behind."""
        self.close()
        if self.size == 0:
            self.discard()

    def discard(self) -> None:
        self.close()
        self.path.unlink(missing_ok=True)
        validator_path(self.dest).unlink(missing_ok=True)


class PrefixHash:
    """The digest of a file's contiguous start, taken in on a thread by reading back what was written as the
    contiguous part grows (``reach``): when the last segment lands, little is left to read. What it has read is
    handed to the disk at once (the final fsync then has little left to wait for)."""

    def __init__(self, fd: int, start: Hashed) -> None:
        self._fd = fd
        self.h, self.hashed = start
        self._flushed = self.hashed
        self._target = self.hashed
        self._stopped = False
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, name="llavamix-prefix-hash", daemon=True)
        self._thread.start()

    def reach(self, target: int) -> None:
        """The file's first ``target`` bytes are written: take them in."""
        with self._cond:
            if target > self._target:
                self._target = target
                self._cond.notify()

    def _run(self) -> None:
        while (block := self._next()) is not None:
            at, n = block
            data = os.pread(self._fd, n, at)
            if not data:  # the file is shorter than its map says: the final check will tell
                return
            self.h.update(data)
            with self._cond:
                self.hashed = at + len(data)
                self._cond.notify_all()
            if self.hashed - self._flushed >= FLUSH_EVERY:  # read back: its pages can go to disk now
                start_writeback(self._fd, self._flushed, self.hashed - self._flushed)
                self._flushed = self.hashed

    def _next(self) -> tuple[int, int] | None:
        with self._cond:
            self._cond.wait_for(lambda: self._stopped or self._target > self.hashed)
            if self._stopped:
                return None
            return self.hashed, min(CHUNK, self._target - self.hashed)

    def finish(self, size: int) -> str:
        """The digest of the first ``size`` bytes, once taken in (a stop request interrupts the wait)."""
        self.reach(size)
        with self._cond:
            while self.hashed < size and self._thread.is_alive():
                CANCEL.check()
                self._cond.wait(0.2)
        if self.hashed < size:
            raise OSError(f"the partial download holds fewer bytes than the {size} its map counts")
        return self.h.hexdigest()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
        self._thread.join()


class SpreadPart:
    """``<dest>.part`` written at offsets by several connections, with its segment map beside it (saved with
    ``save``); its digest covers the contiguous start as it grows."""

    def __init__(self, dest: Path, algo: str | None, smap: SegmentMap, hashed: Hashed | None = None) -> None:
        self.dest, self.path, self.algo, self.map = dest, part_path(dest), algo, smap
        dest.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        self.resumed = smap.written > 0
        start = hashed if hashed is not None and hashed[1] <= smap.frontier else None
        self._hash = PrefixHash(self._fd, start or (new_hasher(algo), 0)) if algo else None
        self._writeback = None if self._hash is not None else Writeback(self._fd, smap.frontier)  # else the hash's
        self._digest: str | None = None
        self.reached(smap.frontier)

    @property
    def size(self) -> int:
        """Bytes from the start that are all there (the whole file once complete)."""
        return self.map.frontier

    @property
    def validator(self) -> str | None:
        return self.map.validator

    def write_at(self, offset: int, data: bytes | memoryview) -> None:
        view = memoryview(data)
        while view:
            n = os.pwrite(self._fd, view, offset)
            view, offset = view[n:], offset + n

    def reached(self, frontier: int) -> None:
        if self._hash is not None:
            self._hash.reach(frontier)
        elif self._writeback is not None:
            self._writeback.upto(frontier)

    def save(self) -> None:
        segments.save(self.map, self.dest)

    def hexdigest(self) -> str | None:
        if self._hash is not None and self._digest is None:
            self._digest = self._hash.finish(self.map.frontier)
        return self._digest

    def close(self) -> None:
        """Finish the digest of the contiguous start, then close the file."""
        if self._fd < 0:
            return
        try:
            self.hexdigest()
        finally:
            self._shut()

    def _shut(self) -> None:
        if self._hash is not None:
            self._hash.stop()
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def commit(self) -> None:
        self.close()
        commit(self.path, self.dest, durable=True)
        segments.remove(self.dest)
        validator_path(self.dest).unlink(missing_ok=True)

    def abandon(self) -> None:
        """Stop for now: the bytes and the map stay for a later resume."""
        self._shut()
        if self.map.written:
            self.save()
        else:
            self.discard()

    def discard(self) -> None:
        self._shut()
        self.path.unlink(missing_ok=True)
        segments.remove(self.dest)
        validator_path(self.dest).unlink(missing_ok=True)

    def narrow(self) -> Hashed | None:
        """Keep only the contiguous start, as a part one connection appends to (its validator file written, the
        map removed last: a kill in between leaves a map that the part's size cuts back); hands over the digest
        of what it already took in."""
        frontier = self.map.frontier
        self._shut()  # the hashing thread is stopped first: its hash and count then agree
        hashed = (self._hash.h, self._hash.hashed) if self._hash is not None else None
        os.truncate(self.path, frontier)
        if self.map.validator and frontier:
            atomic_write_text(validator_path(self.dest), self.map.validator, durable=False)
        else:
            validator_path(self.dest).unlink(missing_ok=True)
        segments.remove(self.dest)
        return hashed
