"""A record's image bytes, served only from inside the data root.

The record's path is judged as verify judges it (``records.imagefile``: absolute or ``..``-climbing paths are
``outside_root`` and never touched). Links are followed as the design's path policy says, for folders: a source
folder (``data/coco``, or deeper) may be a link to another disk. What is refused is a path whose far end leaves the
tree it was reached through: the root, or the far end of the last folder link on the way (a file linked to
``/etc/passwd``). Only regular files are read (``io.read_regular``), so a FIFO or a link to ``/dev/zero`` is never
waited on or read without end.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from llavamix.foundation.io import read_regular
from llavamix.foundation.records.imagefile import locate_image

# the first bytes of each format browsers show, and the type they are served as (anything else is a download)
SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
)


class Refused(Exception):
    """An image (or page) that is not served: ``status`` is the HTTP status, the message says why and what to do."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class ImageBytes:
    data: bytes
    content_type: str


def image_bytes(root: Path, rel: object) -> ImageBytes:
    """The bytes of the record image ``rel`` under ``root``; Refused (403 outside the root, 404 no such file)."""
    if not isinstance(rel, str):
        raise Refused(404, "this record has no image path (text-only, or its 'image' is not a string)")
    verdict = locate_image(root, rel)
    if verdict.code == "outside_root":
        raise Refused(403, f"image path {rel!r}: {verdict.detail}; browse serves only files inside {root}")
    if verdict.code is not None:
        raise Refused(404, f"image {rel!r} cannot be served: {verdict.code} ({verdict.detail})")
    problem = link_problem(root, rel)
    if problem is not None:
        raise Refused(403, f"image path {rel!r} {problem}; browse serves only files inside {root}")
    try:
        data = read_regular(os.path.join(root, rel))  # noqa: PTH118 - joined as training joins it
    except OSError as exc:  # removed or replaced since it was judged
        raise Refused(404, f"image {rel!r} cannot be read: {exc.strerror or exc}") from None
    return ImageBytes(data, content_type(data))


def link_problem(root: Path, rel: str) -> str | None:
    """Why the file ``root/rel`` leads out of the tree it is reached through, or None when it stays inside.

    Each folder link on the way is followed on purpose and becomes the tree; the file's own far end must lie in it.
    """
    tree = os.path.realpath(root)
    folder = Path(root)
    for part in rel.split("/")[:-1]:
        folder = folder / part
        if folder.is_symlink():
            tree = os.path.realpath(folder)
    real = os.path.realpath(os.path.join(root, rel))  # noqa: PTH118
    if real.startswith(tree.rstrip("/") + "/"):
        return None
    return f"is a link to {real}, outside {tree}"


def content_type(data: bytes) -> str:
    """The image type the bytes' signature names (``image/webp`` from its RIFF header), else a plain download."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    for magic, kind in SIGNATURES:
        if data.startswith(magic):
            return kind
    return "application/octet-stream"
