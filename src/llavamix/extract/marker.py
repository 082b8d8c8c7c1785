"""The extraction completion marker (``formats.markers``): the ``Extracted`` result, written last, so its presence
means the source is fully extracted."""

from __future__ import annotations

from llavamix.catalog import Source
from llavamix.extract.model import Extracted
from llavamix.foundation.formats.markers import read_marker
from llavamix.foundation.formats.markers import write_marker as write_done
from llavamix.foundation.layout import Layout

STAGE = "extract"


def write_marker(layout: Layout, result: Extracted) -> None:
    """Flush the extracted files to disk, then record ``result``.

    Members are written without a per-file fsync (too slow for 500K images); one sync of the data root's
    filesystem first makes sure a power cut can never leave a marker that vouches for files still only in the
    page cache.
    """
    write_done(layout.marker(result.source, STAGE), result, flush=layout.root)


def read_extracted(source: Source, layout: Layout) -> Extracted | None:
    """The recorded result of a finished extraction of ``source``, or None if it has not finished (no marker, or
    an unreadable one: the source is then extracted again)."""
    return read_marker(layout.marker(source.name, STAGE), Extracted)


def is_extracted(source: Source, layout: Layout) -> bool:
    """True when ``source`` finished extracting under ``layout`` (its marker is present and readable)."""
    return read_extracted(source, layout) is not None
