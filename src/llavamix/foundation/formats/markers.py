"""Completion markers: the small JSON file a piece of work writes last, so that its presence means the work is done.

fetch (``ROOT/.llavamix/done/<source>.fetch``), extract (``<source>.extract``) and pack (``<name>.plan.json`` before
its shards, ``<name>.manifest.json`` after them) write theirs with ``write_marker`` and read them with
``read_marker``. A marker holds one msgspec Struct or dataclass as JSON: markers written by earlier releases (the
same fields) read back unchanged.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from llavamix.foundation.io import NotRegularFileError, atomic_write_bytes, read_regular, sync_filesystem

log = logging.getLogger(__name__)
T = TypeVar("T")


class Downloaded(msgspec.Struct, frozen=True):
    """What the fetch marker records: the downloaded ``file``'s name and ``size`` (a file of another size is not
    the one fetched), the checksum it passed (``"md5:..."``, None when there was none) and ``how`` it came."""

    file: str
    size: int
    digest: str | None = None
    how: str = ""


def encode_marker(value: Any) -> bytes:
    """``value`` as the indented JSON a marker holds (readable by hand: ``cat`` a marker to see what is done)."""
    return msgspec.json.format(msgspec.json.encode(value), indent=1) + b"\n"


def write_marker(path: Path, value: Any, *, flush: Path | None = None) -> None:
    """Record ``value`` at ``path`` atomically and durably: the last step of the work it vouches for.

    ``flush``: a path on the filesystem the work wrote to, flushed whole first, for work written without a per-file
    fsync (too slow for half a million images): a power cut then never leaves a marker vouching for files still
    only in the page cache.
    """
    if flush is not None:
        sync_filesystem(flush)
    atomic_write_bytes(path, encode_marker(value))


def load_marker(path: Path, kind: type[T]) -> T:
    """The ``kind`` recorded at ``path``; raises FileNotFoundError when absent, NotRegularFileError when it is not
    a file, msgspec.DecodeError (ValidationError: another shape) when it cannot be read as ``kind``."""
    return msgspec.json.decode(read_regular(path), type=kind)


def read_marker(path: Path, kind: type[T]) -> T | None:
    """The ``kind`` recorded at ``path``, or None when the work is not done: no marker, or one that cannot be read
    as ``kind`` (truncated, another shape, not a file), which is logged and means the work is done again."""
    try:
        return load_marker(path, kind)
    except FileNotFoundError:
        return None
    except (msgspec.DecodeError, NotRegularFileError) as exc:
        _unreadable(path, exc)
        return None


def decode_marker(data: bytes, kind: type[T], where: str) -> T | None:
    """The ``kind`` in a marker's bytes read from elsewhere (object storage), or None, logged, as ``read_marker``
    gives for an unreadable one."""
    try:
        return msgspec.json.decode(data, type=kind)
    except msgspec.DecodeError as exc:
        _unreadable(where, exc)
        return None


def _unreadable(where: Path | str, exc: Exception) -> None:
    log.warning("ignoring unreadable marker %s (%s); its work will be done again", where, exc)
