"""Member checks that keep an archive inside its target: path shape and file type, judged before anything is written.

Links are never extracted, whatever their target: image archives have no need for them, and refusing them all is
simpler to trust than resolving where each would point.
"""

from __future__ import annotations

import re
import stat
import tarfile
from pathlib import Path, PurePosixPath

from llavamix.foundation.errors import UnsafeArchiveError

_DRIVE = re.compile(r"^[A-Za-z]:")


def refuse(archive: Path, name: str, why: str) -> UnsafeArchiveError:
    return UnsafeArchiveError(
        f"{archive}: member {name!r} {why}; refusing to extract this archive "
        "(it may be malicious or damaged: check where it came from, delete it and download it again)"
    )


def safe_path(archive: Path, name: str) -> PurePosixPath | None:
    """The member's relative path with ``.`` and empty parts dropped, or None when nothing is left (``./``)."""
    if "\\" in name or "\x00" in name:
        raise refuse(archive, name, "contains a backslash or NUL byte")
    if name.startswith("/"):
        raise refuse(archive, name, "is an absolute path")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if parts and _DRIVE.match(parts[0]):
        raise refuse(archive, name, "starts with a drive letter")
    if ".." in parts:
        raise refuse(archive, name, "contains '..', which could climb out of the target folder")
    return PurePosixPath(*parts) if parts else None


def zip_is_dir(archive: Path, name: str, external_attr: int) -> bool:
    """Whether a zip member is a folder; refuses symlinks and special files marked in its Unix mode bits."""
    mode = external_attr >> 16
    kind = stat.S_IFMT(mode)
    if kind == stat.S_IFLNK:
        raise refuse(archive, name, "is a symbolic link (links are never extracted)")
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise refuse(archive, name, "is a device file, fifo or socket")
    return kind == stat.S_IFDIR or name.endswith("/")


def tar_is_dir(archive: Path, name: str, info: tarfile.TarInfo) -> bool:
    """Whether a tar member is a folder; refuses links, device files, fifos and other special entries."""
    if info.isreg():
        return False
    if info.isdir():
        return True
    if info.issym() or info.islnk():
        kind = "symbolic" if info.issym() else "hard"
        raise refuse(archive, name, f"is a {kind} link to {info.linkname!r} (links are never extracted)")
    if info.ischr() or info.isblk() or info.isfifo():
        raise refuse(archive, name, "is a device file or fifo")
    raise refuse(archive, name, f"has an unsupported tar entry type {info.type!r}")
