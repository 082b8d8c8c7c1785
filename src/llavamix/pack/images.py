"""The image files a pack reads: only regular files inside the data root, never more than their size at open.

A record whose image path is absolute or climbs out of the root, or names a FIFO, device, folder, unreadable or
empty file is a per-record problem (handled by the ``on_error`` policy); such a file is never read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from stat import S_ISREG

from llavamix.io import file_kind, open_regular
from llavamix.layout import Layout, escape_problem


@dataclass(frozen=True)
class ImageCheck:
    """An image as planned: its stat when it can be packed, else a problem ``code`` and ``detail``."""

    stat: os.stat_result | None = None
    code: str | None = None
    detail: str = ""


def check_image(layout: Layout, image: str) -> ImageCheck:
    """Whether a record's image path ``image`` can be packed, judged from its path and stat; nothing is opened.

    The codes are verify's: ``outside_root`` for a path that leaves the root, ``missing`` for one that names no
    readable regular file (the detail says why), ``empty_file``.
    """
    escape = escape_problem(image)
    if escape is not None:
        code = "missing" if not image or "\0" in image else "outside_root"  # empty or NUL: it names no file
        return ImageCheck(code=code, detail=f"the image path {escape}; it must name a file inside the data root")
    path = layout.image(image)
    try:
        stat = path.stat()  # follows links below the root on purpose; the far end must be a regular file
    except OSError as exc:
        return ImageCheck(code="missing", detail=exc.strerror or str(exc))
    if not S_ISREG(stat.st_mode):
        return ImageCheck(code="missing", detail=f"not a regular file ({file_kind(stat.st_mode)})")
    if not os.access(path, os.R_OK):
        return ImageCheck(code="missing", detail="not readable (permission denied)")
    if stat.st_size == 0:
        return ImageCheck(code="empty_file", detail="0 bytes")
    return ImageCheck(stat)


def read_image(layout: Layout, image: str) -> tuple[bytes, os.stat_result]:
    """The bytes of a record's image and the stat they were read under; refuses what ``check_image`` refuses."""
    with open_regular(layout.image(image)) as fh:  # layout.image refuses a path that leaves the root
        stat = os.fstat(fh.fileno())
        data = fh.read(stat.st_size)
    if len(data) != stat.st_size:  # truncated while being read: the stat no longer describes the bytes
        raise OSError(f"{image} changed while it was read ({len(data)} of {stat.st_size} bytes); rerun the pack")
    return data, stat
