"""Archive readers: open a zip or tar once and see its members as uniform, already-checked ``Member`` records.

Zip and plain tar list every member up front (the zip central directory, the tar headers), so the whole archive is
judged before anything is written. A gzipped tar can only be read front to back; ``stream_tar`` checks each member
as it arrives, and the caller writes them to a staging folder.
"""

from __future__ import annotations

import contextlib
import gzip
import tarfile
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any, Protocol

from llavamix.extract.safety import safe_path, tar_is_dir, zip_is_dir
from llavamix.foundation.errors import CorruptArchiveError

# What reading a damaged archive raises, from the zip, tar and gzip layers.
READ_ERRORS = (zipfile.BadZipFile, tarfile.TarError, gzip.BadGzipFile, zlib.error, EOFError)


@dataclass(frozen=True)
class Member:
    """One archive entry: ``name`` as stored (for messages), ``path`` checked and normalised."""

    name: str
    path: PurePosixPath
    size: int
    is_dir: bool
    ref: Any = None  # the ZipInfo / TarInfo, or the staged file's Path


class Reader(Protocol):
    threadsafe: bool  # whether ``open`` may be called from several threads at once

    def members(self) -> list[Member]: ...

    def open(self, member: Member) -> IO[bytes]: ...


def corrupt(archive: Path, exc: BaseException) -> CorruptArchiveError:
    return CorruptArchiveError(
        f"{archive} cannot be read ({type(exc).__name__}: {exc}); it is damaged or not the format its catalog "
        "entry says: delete it and run the command again to download it afresh"
    )


class ZipReader:
    threadsafe = True  # zipfile serialises its seeks and reads on the shared file under a lock

    def __init__(self, archive: Path, zf: zipfile.ZipFile) -> None:
        self.archive, self._zf = archive, zf

    def members(self) -> list[Member]:
        out = []
        for info in self._zf.infolist():
            is_dir = zip_is_dir(self.archive, info.filename, info.external_attr)
            path = safe_path(self.archive, info.filename)
            if path is not None:
                out.append(Member(info.filename, path, 0 if is_dir else info.file_size, is_dir, info))
        return out

    def open(self, member: Member) -> IO[bytes]:
        return self._zf.open(member.ref)


class TarReader:
    threadsafe = False

    def __init__(self, archive: Path, tf: tarfile.TarFile) -> None:
        self.archive, self._tf = archive, tf

    def members(self) -> list[Member]:
        return [m for m in (tar_member(self.archive, info) for info in self._tf.getmembers()) if m is not None]

    def open(self, member: Member) -> IO[bytes]:
        fh = self._tf.extractfile(member.ref)
        if fh is None:  # cannot happen for the regular files tar_member lets through
            raise corrupt(self.archive, tarfile.ReadError(f"no data for {member.name!r}"))
        return fh


def tar_member(archive: Path, info: tarfile.TarInfo) -> Member | None:
    is_dir = tar_is_dir(archive, info.name, info)
    path = safe_path(archive, info.name)
    return None if path is None else Member(info.name, path, 0 if is_dir else info.size, is_dir, info)


@contextlib.contextmanager
def open_reader(archive: Path, kind: str) -> Iterator[Reader]:
    """A reader over a ``zip`` or uncompressed ``tar`` archive, opened once."""
    try:
        handle = _open(archive, kind)
    except READ_ERRORS as exc:
        raise corrupt(archive, exc) from exc
    with handle:
        yield ZipReader(archive, handle) if isinstance(handle, zipfile.ZipFile) else TarReader(archive, handle)


def _open(archive: Path, kind: str) -> zipfile.ZipFile | tarfile.TarFile:
    if kind == "zip":
        return zipfile.ZipFile(archive)
    return tarfile.open(archive, "r:")


def stream_tar(archive: Path) -> Iterator[tuple[Member, IO[bytes] | None]]:
    """Members of a gzipped tar in archive order, each checked before it is yielded with its data."""
    with tarfile.open(archive, "r|gz") as tf:
        for info in tf:
            member = tar_member(archive, info)
            if member is not None:
                yield member, None if member.is_dir else tf.extractfile(info)


def gzip_size_estimate(archive: Path) -> int:
    """Uncompressed size of a gzip file, for the disk-space check.

    The gzip trailer holds the size modulo 4 GiB; image data barely compresses, so take the smallest size with
    that remainder that is no more than 2 GiB below the compressed size.
    """
    compressed = archive.stat().st_size
    with open(archive, "rb") as fh:
        fh.seek(max(0, compressed - 4))
        size = int.from_bytes(fh.read(4), "little")
    while size < compressed - _WRAP // 2:
        size += _WRAP
    return size


_WRAP = 1 << 32


def listed_bytes(archive: Path, kind: str) -> int | None:
    """What extracting ``archive`` writes, from its member list (a zip's central directory, a tar's headers), an
    estimate for a gzipped tar; None when it cannot be read. The sizes alone are summed: no member is checked (a
    member the extraction refuses only makes the figure a little high), so a plan over half a million members
    reads the list and nothing more."""
    if kind == "tar.gz":
        return gzip_size_estimate(archive)
    try:
        with _open(archive, kind) as handle:
            if isinstance(handle, zipfile.ZipFile):
                return sum(info.file_size for info in handle.infolist())
            return sum(info.size for info in handle.getmembers() if info.isfile())
    except (*READ_ERRORS, OSError):
        return None
