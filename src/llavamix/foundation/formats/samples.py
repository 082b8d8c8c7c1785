"""One packed record: ``Sample`` as the shard writers take it, ``ShardSample`` as the shard readers give it back."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePosixPath

from llavamix.foundation.records import Record

FALLBACK_EXT = "img"  # for image paths without a usable extension


@dataclass(frozen=True)
class Sample:
    """Mix record ``index``: its exact JSON bytes, the decoded record, its image path and bytes (None: text-only)
    and ``source``, the catalog source its image comes from."""

    index: int
    raw: bytes
    record: Record
    image: str | None = None
    data: bytes | None = None
    source: str | None = None


@dataclass(frozen=True)
class ShardSample:
    """One packed record read back: its mix index, exact JSON bytes, and image bytes with their extension."""

    index: int
    raw: bytes
    image: bytes | None = None
    image_ext: str | None = None


def image_ext(image: str) -> str:
    """The extension an image is stored under: its path's suffix, lower-cased (``jpg``, ``png``, ...)."""
    ext = PurePosixPath(image).suffix[1:].lower()
    # never collide with the record member or break WebDataset's key/extension split
    return ext if ext.isalnum() and ext != "json" else FALLBACK_EXT
