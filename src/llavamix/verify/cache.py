"""The deep-check cache: each image's verdict keyed by (path, size, mtime), so a rerun decodes only what changed."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import msgspec

from llavamix.foundation.io import atomic_writer
from llavamix.verify.images import ImageCheck, Limits

log = logging.getLogger(__name__)

CACHE_NAME = "verify-images.msgpack"
CACHE_VERSION = 1


class _Entry(msgspec.Struct, array_like=True):
    size: int
    mtime_ns: int
    check: ImageCheck


class _File(msgspec.Struct):
    version: int
    settings: list[int]  # the Limits the verdicts were made under; other limits invalidate the cache
    entries: dict[str, _Entry]


def _settings(limits: Limits) -> list[int]:
    return [limits.tiny, limits.max_pixels]


class ImageCache:
    """Verdicts of deep image checks; ``get`` answers only when size and mtime still match."""

    def __init__(self, path: Path | None, limits: Limits) -> None:
        self.path = path
        self.limits = limits
        self.entries: dict[str, _Entry] = {}
        self.dirty = False
        if path is not None and path.exists():
            self._load(path)

    def _load(self, path: Path) -> None:
        try:
            data = msgspec.msgpack.decode(path.read_bytes(), type=_File)
        except (OSError, msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.warning("ignoring unreadable verify cache %s: %s", path, exc)
            return
        if data.version == CACHE_VERSION and data.settings == _settings(self.limits):
            self.entries = data.entries

    def get(self, rel: str, st: os.stat_result) -> ImageCheck | None:
        entry = self.entries.get(rel)
        if entry is None or entry.size != st.st_size or entry.mtime_ns != st.st_mtime_ns:
            return None
        return entry.check

    def put(self, rel: str, st: os.stat_result, check: ImageCheck) -> None:
        self.entries[rel] = _Entry(st.st_size, st.st_mtime_ns, check)
        self.dirty = True

    def save(self) -> None:
        """Write the cache atomically; a read-only data root only costs the speed-up, so failures are logged."""
        if self.path is None or not self.dirty:
            return
        data = _File(CACHE_VERSION, _settings(self.limits), self.entries)
        try:
            with atomic_writer(self.path, "wb", durable=False) as fh:
                fh.write(msgspec.msgpack.encode(data))
        except OSError as exc:
            log.warning("could not write the verify cache %s: %s", self.path, exc)
        self.dirty = False
