"""Where a record's image path leads, judged from the path and one ``stat``: the quick check verify and pack share.

Nothing is opened. A path that is absolute or climbs out of the data root is ``outside_root`` and never touched;
anything but a readable, non-empty regular file (after following links below the root) is ``missing`` or
``empty_file``, with the reason in the detail. Codes are those of ``records.reasons``.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from llavamix.foundation.io import file_kind
from llavamix.foundation.layout import escape_problem


@dataclass(frozen=True)
class ImageFile:
    """The verdict on one image path: its stat when the file can be read, else a reason code and detail."""

    stat: os.stat_result | None = None
    code: str | None = None
    detail: str = ""


def locate_image(root: Path | str, rel: str) -> ImageFile:
    """Judge the record path ``rel`` under ``root`` (joined as training joins ``image_folder`` and ``image``)."""
    problem = escape_problem(rel)
    if problem is not None:
        if not rel or "\0" in rel:  # it names no file at all
            return ImageFile(code="missing", detail=f"the image path {problem}")
        detail = f"the image path {problem}; training would read a file outside the data root"
        return ImageFile(code="outside_root", detail=detail)
    path = os.path.join(root, rel)  # noqa: PTH118 - str paths: a Path object per image costs more than the stat
    try:
        st = os.stat(path)  # noqa: PTH116 - follows links below the root on purpose; the far end is checked
    except OSError as exc:
        return ImageFile(code="missing", detail=exc.strerror or type(exc).__name__)
    if not stat.S_ISREG(st.st_mode):
        return ImageFile(code="missing", detail=f"not a regular file ({file_kind(st.st_mode)})")
    if st.st_size == 0:
        return ImageFile(code="empty_file", detail="0 bytes")
    if not os.access(path, os.R_OK):
        return ImageFile(code="missing", detail="not readable (permission denied)")
    return ImageFile(st)
