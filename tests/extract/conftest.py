"""Fixtures for the extraction tests: archives built from a {name: bytes} dict, sources, and tree snapshots."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import pytest

from llavamix.catalog import Source
from llavamix.foundation.layout import Layout
from llavamix.foundation.tasks import Progress


def blob(name: str, n: int = 300) -> bytes:
    """Distinct, recognisable content for member ``name``."""
    return (name.encode() * (n // max(1, len(name)) + 1))[:n]


def make_zip(path: Path, members: dict[str, bytes | None], modes: dict[str, int] | None = None) -> Path:
    """A stored zip; ``None`` content makes a folder entry, ``modes`` sets Unix mode bits of given members."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo(name)
            mode = (modes or {}).get(name)
            if mode is not None:
                info.external_attr = mode << 16
            zf.writestr(info, b"" if data is None else data)
    return path


def tar_file(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def tar_special(name: str, kind: bytes, linkname: str = "") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, linkname
    return info, b""


def make_tar(path: Path, entries: list[tuple[tarfile.TarInfo, bytes]], mode: str = "w") -> Path:
    """A tar (``mode`` ``w`` or ``w:gz``) of prepared entries, folders and links included."""
    with tarfile.open(path, mode) as tf:
        for info, data in entries:
            tf.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return path


def tar_of(path: Path, members: dict[str, bytes | None], mode: str = "w") -> Path:
    entries = [tar_file(n, d) if d is not None else tar_special(n, tarfile.DIRTYPE) for n, d in members.items()]
    return make_tar(path, entries, mode)


def source(name: str = "src", *, archive: str = "zip", into: str = "out", **kw: object) -> Source:
    return Source(name=name, url=f"https://example.org/{name}.{archive}", into=into, archive=archive, **kw)  # type: ignore[arg-type]


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative posix path -> bytes)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def everything(folder: Path) -> set[str]:
    """Every path (files and folders) under ``folder``."""
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")}


class Recorder(Progress):
    def __init__(self) -> None:
        self.events: list[tuple[str, str, int | None]] = []

    def start(self, key: str, total: int | None, unit: str = "B", *, completed: int = 0) -> None:
        self.events.append(("start", key, total))

    def advance(self, key: str, n: int) -> None:
        self.events.append(("advance", key, n))

    def finish(self, key: str) -> None:
        self.events.append(("finish", key, None))


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    """A data root ``tmp_path/data`` with its downloads outside it, as a user with a separate disk would have."""
    return Layout(tmp_path / "data", downloads=tmp_path / "downloads")


@pytest.fixture
def downloads(layout: Layout) -> Path:
    assert layout.downloads is not None
    layout.downloads.mkdir(parents=True)
    return layout.downloads
