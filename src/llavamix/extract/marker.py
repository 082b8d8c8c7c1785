"""The extraction completion marker: written last, so its presence means the source is fully extracted."""

from __future__ import annotations

import logging

import msgspec

from llavamix.catalog import Source
from llavamix.extract.model import Extracted
from llavamix.io import atomic_write_bytes, sync_filesystem
from llavamix.layout import Layout

log = logging.getLogger(__name__)

STAGE = "extract"


def write_marker(layout: Layout, result: Extracted) -> None:
    """Flush the extracted files to disk, then record ``result`` atomically.

    Members are written without a per-file fsync (too slow for 500K images); one sync of the data root's
    filesystem here makes sure a power cut can never leave a marker that vouches for files still only in the
    page cache.
    """
    sync_filesystem(layout.root)
    atomic_write_bytes(layout.marker(result.source, STAGE), msgspec.json.encode(result))


def read_extracted(source: Source, layout: Layout) -> Extracted | None:
    """The recorded result of a finished extraction of ``source``, or None if it has not finished."""
    path = layout.marker(source.name, STAGE)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        return msgspec.json.decode(data, type=Extracted)
    except msgspec.DecodeError as exc:
        log.warning("ignoring unreadable extraction marker %s (%s); the source will be extracted again", path, exc)
        return None


def is_extracted(source: Source, layout: Layout) -> bool:
    """True when ``source`` finished extracting under ``layout`` (its marker is present and readable)."""
    return read_extracted(source, layout) is not None
