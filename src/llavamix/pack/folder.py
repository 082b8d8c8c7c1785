"""Where a pack is written: a local folder, or a prefix on object storage (any fsspec URL, ``s3://bucket/prefix``).

Either way a file appears at its final name only complete. Locally each is written as ``.part`` and renamed; on
object storage each is written to a local spool file first (in the temporary folder, ``TMPDIR``: room for the
shards being written at once) and uploaded whole, one PUT or one multipart upload, which the store makes visible
only once complete. A killed run therefore leaves only complete shards behind, wherever it wrote.
"""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from llavamix.foundation.errors import ConfigError
from llavamix.foundation.formats.markers import decode_marker, encode_marker, read_marker, write_marker
from llavamix.foundation.formats.pack import write_shard
from llavamix.foundation.formats.samples import Sample
from llavamix.foundation.io import part_path
from llavamix.foundation.storage import StorageOptions, Target, check_output, filesystem, is_url, local_path, upload

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

T = TypeVar("T")


class PackFolder(Protocol):
    """What pack does to the place it writes, by file name."""

    def sizes(self) -> dict[str, int]: ...  # every file present, with its size in bytes
    def remove(self, name: str) -> None: ...  # a file and any temporary a killed run left for it
    def write_shard(self, fmt: str, samples: Iterable[Sample], name: str) -> int: ...  # its size
    def write_marker(self, name: str, value: Any) -> Target: ...  # the plan or the manifest; returns where
    def read_marker(self, name: str, kind: type[T]) -> T | None: ...


def open_folder(target: Target, options: StorageOptions | None = None) -> PackFolder:
    """The pack folder ``target`` (a path or a URL prefix), ready for writing; it pickles (Ray tasks write through
    it on other nodes, each spooling in its own temporary folder)."""
    if not is_url(target):
        folder = local_path(target)
        if folder.exists() and not folder.is_dir():
            raise ConfigError(f"pack output {folder} is a file; pass a folder (it is created when missing)")
        return LocalFolder(folder)  # created by the first file written into it
    check_output(target, options, folder=True)
    fs, path = filesystem(target, options)
    return RemoteFolder(str(target).rstrip("/"), fs, path.rstrip("/"))


class LocalFolder:
    def __init__(self, path: Path) -> None:
        self.path = path

    def sizes(self) -> dict[str, int]:
        if not self.path.is_dir():
            return {}
        return {p.name: p.stat().st_size for p in self.path.iterdir() if p.is_file()}

    def remove(self, name: str) -> None:
        part_path(self.path / name).unlink(missing_ok=True)
        (self.path / name).unlink(missing_ok=True)

    def write_shard(self, fmt: str, samples: Iterable[Sample], name: str) -> int:
        return write_shard(fmt, samples, self.path / name)

    def write_marker(self, name: str, value: Any) -> Target:
        write_marker(self.path / name, value)
        return self.path / name

    def read_marker(self, name: str, kind: type[T]) -> T | None:
        return read_marker(self.path / name, kind)


class RemoteFolder:
    def __init__(self, url: str, fs: AbstractFileSystem, path: str) -> None:
        self.url, self.fs, self.path = url, fs, path

    def sizes(self) -> dict[str, int]:
        try:
            entries = self.fs.ls(self.path, detail=True, refresh=True)
        except FileNotFoundError:  # a prefix with nothing under it yet
            return {}
        return {e["name"].rsplit("/", 1)[-1]: int(e["size"]) for e in entries if e.get("type") == "file"}

    def remove(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.fs.rm_file(self._key(name))

    def write_shard(self, fmt: str, samples: Iterable[Sample], name: str) -> int:
        with tempfile.TemporaryDirectory(prefix="llavamix-pack-") as spool:
            size = write_shard(fmt, samples, Path(spool) / name)
            upload(Path(spool) / name, self.fs, self._key(name), self._url(name))
        return size

    def write_marker(self, name: str, value: Any) -> Target:
        # one PUT of the whole marker: visible only complete, as a rename makes it locally
        self.fs.pipe_file(self._key(name), encode_marker(value))
        return self._url(name)

    def read_marker(self, name: str, kind: type[T]) -> T | None:
        try:
            data = self.fs.cat_file(self._key(name))
        except FileNotFoundError:
            return None
        return decode_marker(data, kind, self._url(name))

    def _key(self, name: str) -> str:
        return f"{self.path}/{name}"

    def _url(self, name: str) -> str:
        return f"{self.url}/{name}"
