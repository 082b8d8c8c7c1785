"""A partial download (``<dest>.part``): appended to, hashed as it grows, resumable across runs."""

from __future__ import annotations

import hashlib
import queue
import threading
from pathlib import Path

from llavamix.foundation.io import atomic_write_text, commit, new_hasher, part_path, update_from_file
from llavamix.foundation.tasks import CANCEL

VALIDATOR_SUFFIX = ".part.validator"
QUEUE_CHUNKS = 64  # chunks waiting to be hashed; bounds the memory a slow hash can hold


class BackgroundHash:
    """A hashlib object fed on a worker thread, so hashing overlaps with receiving and writing (hashlib drops the
    GIL on large updates); md5 alone is slower than a fast link."""

    def __init__(self, h: hashlib._Hash) -> None:
        self._h = h
        self._queue: queue.Queue[bytes | None] = queue.Queue(QUEUE_CHUNKS)
        self._thread = threading.Thread(target=self._run, name="llavamix-hash", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            self._h.update(chunk)

    def update(self, chunk: bytes) -> None:
        self._queue.put(chunk)

    def close(self) -> None:
        if self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()

    def hexdigest(self) -> str:
        self.close()
        return self._h.hexdigest()


def validator_path(dest: Path) -> Path:
    """Where the ETag/Last-Modified of a partial download is kept, so a resume can send ``If-Range``."""
    return dest.with_name(dest.name + VALIDATOR_SUFFIX)


class PartFile:
    """``<dest>.part`` opened for appending; its digest covers every byte in it, resumed or not."""

    def __init__(self, dest: Path, algo: str | None) -> None:
        self.dest = dest
        self.path = part_path(dest)
        self.algo = algo
        dest.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.path, "ab")  # noqa: SIM115 (kept open across writes; close() ends it)
        self.size = self._fh.tell()
        self._hash = self._new_hash()
        meta = validator_path(dest)
        self.validator = meta.read_text(encoding="utf-8") if self.size and meta.is_file() else None

    def _new_hash(self) -> BackgroundHash | None:
        if not self.algo:
            return None
        h = new_hasher(self.algo)
        if self.size:
            update_from_file(h, self.path, stop=self.size, check=CANCEL.check)  # the resumed prefix counts too
        return BackgroundHash(h)

    def write(self, chunk: bytes) -> None:
        self._fh.write(chunk)
        if self._hash is not None:
            self._hash.update(chunk)
        self.size += len(chunk)

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
