"""The image files a pack reads: only regular files inside the data root, never more than their size at open.

A record whose image path is absolute or climbs out of the root, or names a FIFO, device, folder, unreadable or
empty file is a per-record problem (handled by the ``on_error`` policy); such a file is never read.
"""

from __future__ import annotations

import os

from llavamix.foundation.io import open_regular
from llavamix.foundation.layout import Layout


def read_image(layout: Layout, image: str) -> tuple[bytes, os.stat_result]:
    """The bytes of a record's image and the stat they were read under; refuses what
    ``records.imagefile.locate_image`` refuses."""
    with open_regular(layout.image(image)) as fh:  # layout.image refuses a path that leaves the root
        stat = os.fstat(fh.fileno())
        data = fh.read(stat.st_size)
    if len(data) != stat.st_size:  # truncated while being read: the stat no longer describes the bytes
        raise OSError(f"{image} changed while it was read ({len(data)} of {stat.st_size} bytes); rerun the pack")
    return data, stat
