"""A killed or failed extraction leaves no marker; a rerun finishes it and leaves no temporary file behind."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from llavamix.extract import extract_source, is_extracted, run, write
from llavamix.extract.model import Extracted
from llavamix.foundation.layout import Layout
from tests.extract.conftest import blob, make_zip, source, tar_of, tree

MEMBERS: dict[str, bytes | None] = {f"images/{i // 4}/{i}.jpg": blob(str(i), 200 + 50 * i) for i in range(12)}
EXPECTED = {k.removeprefix("images/"): v for k, v in MEMBERS.items() if v is not None}


def test_failure_midway_then_rerun(monkeypatch: pytest.MonkeyPatch, layout: Layout, downloads: Path) -> None:
    archive = make_zip(downloads / "s.zip", MEMBERS)
    src = source("s", strip="images")
    real = write.write_file
    calls = []

    def dies_on_the_sixth(src_fh, dest: Path, size: int) -> None:  # type: ignore[no-untyped-def]
        calls.append(dest)
        if len(calls) == 6:
            raise OSError("disk on fire")
        real(src_fh, dest, size)

    monkeypatch.setattr(write, "write_file", dies_on_the_sixth)
    with pytest.raises(OSError, match="disk on fire"):
        extract_source(src, archive, layout)
    assert not is_extracted(src, layout)
    assert archive.exists()
    assert len(tree(layout.root / "out")) == 5

    monkeypatch.setattr(write, "write_file", real)
    extract_source(src, archive, layout)
    assert tree(layout.root / "out") == EXPECTED
    assert not archive.exists()


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_leftovers_of_a_kill_are_cleaned(kind: str, layout: Layout, downloads: Path) -> None:
    """kill -9 leaves ``.part`` files, a truncated final file never (renames are atomic), and staging."""
    if kind == "zip":
        archive = make_zip(downloads / "s.zip", MEMBERS)
    else:
        archive = tar_of(downloads / "s.tar.gz", MEMBERS, "w:gz")
    target = layout.root / "out"
    (target / "0").mkdir(parents=True)
    (target / "0/1.jpg.part").write_bytes(b"half")
    (target / "2/9.jpg.part").parent.mkdir()
    (target / "2/9.jpg.part").write_bytes(b"")
    (target / "0/0.jpg").write_bytes(b"stale")
    layout.staging("s").mkdir(parents=True)
    (layout.staging("s") / "junk").write_bytes(b"old")
    extract_source(source("s", archive=kind, strip="images/"), archive, layout)
    assert tree(target) == EXPECTED
    assert not list(layout.root.rglob("*.part"))
    assert not layout.staging("s").exists()


class Crash(Exception):  # not an OSError: no handler for a failed write may swallow it, as none survives a kill
    pass


class Disk:
    """Numbers every change extraction makes to the filesystem under ``base`` (seen through the interpreter's
    audit events: opens for writing, renames, removals, folder creations) and, from change ``crash_at`` on,
    fails each one: the disk is left exactly as a kill -9 at that point would leave it."""

    WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC
    CHANGES = frozenset({"open", "os.rename", "os.remove", "os.rmdir", "os.mkdir", "shutil.rmtree"})

    def __init__(self) -> None:
        self.base: str | None = None
        self.crash_at = 0
        self.changes: list[str] = []

    def arm(self, base: Path, crash_at: int = 0) -> None:
        self.base, self.crash_at, self.changes = str(base), crash_at, []

    def hook(self, event: str, args: tuple[object, ...]) -> None:
        if self.base is None or event not in self.CHANGES:
            return
        if event == "open" and not self._writes(args):
            return
        path = str(args[0])
        if event == "os.rename":
            path += f" -> {args[1]}"
        if path.startswith("/") and not path.startswith(self.base):
            return  # relative paths are shutil.rmtree's removals inside a folder it holds open
        self.changes.append(f"{event} {path}")
        if self.crash_at and len(self.changes) >= self.crash_at:
            raise Crash(f"killed at change {self.crash_at}")

    def _writes(self, args: tuple[object, ...]) -> bool:
        mode, flags = args[1], args[2]
        if isinstance(mode, str):
            return any(c in mode for c in "wax+")
        return isinstance(flags, int) and bool(flags & self.WRITE_FLAGS)


@pytest.fixture(scope="module")
def disk() -> Iterator[Disk]:
    watcher = Disk()
    sys.addaudithook(watcher.hook)  # hooks cannot be removed: disarmed, it returns at once
    yield watcher
    watcher.base = None


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_a_kill_at_any_change_never_leaves_a_marker_without_its_files(kind: str, disk: Disk, tmp_path: Path) -> None:
    """Every point of an extraction is a possible kill -9: at none may the marker exist while a member is missing
    or incomplete, nor the archive be gone while the marker is absent; and a rerun from each finishes the job."""
    count = Layout(tmp_path / "count/data", downloads=tmp_path / "count/downloads")
    archive = _archive(kind, count)
    disk.arm(tmp_path)
    extract_source(source("s", archive=kind, strip="images"), archive, count)
    disk.base = None
    changes = disk.changes
    assert tree(count.root / "out") == EXPECTED
    assert any(c.endswith(".extract") for c in changes), changes  # the marker's rename is among them
    for crash_at in range(1, len(changes) + 1):
        layout = Layout(tmp_path / f"k{crash_at}/data", downloads=tmp_path / f"k{crash_at}/downloads")
        archive = _archive(kind, layout)
        disk.arm(tmp_path, crash_at)
        with pytest.raises(Crash, match=f"killed at change {crash_at}"):
            extract_source(source("s", archive=kind, strip="images"), archive, layout)
        disk.base = None
        where = f"killed at {changes[crash_at - 1]!r}"
        if layout.marker("s", "extract").exists():
            assert tree(layout.root / "out") == EXPECTED, f"a marker vouches for missing files, {where}"
        else:
            assert archive.exists(), f"the archive is gone but the extraction never finished, {where}"
        extract_source(source("s", archive=kind, strip="images"), archive, layout)
        assert is_extracted(source("s"), layout), where
        assert tree(layout.root / "out") == EXPECTED, where
        assert not list(layout.root.rglob("*.part")), where
        assert not archive.exists() and not layout.staging("s").exists(), where


def _archive(kind: str, layout: Layout) -> Path:
    assert layout.downloads is not None
    layout.downloads.mkdir(parents=True, exist_ok=True)
    if kind == "zip":
        return make_zip(layout.downloads / "s.zip", MEMBERS)
    return tar_of(layout.downloads / "s.tar.gz", MEMBERS, "w:gz")


def test_failed_marker_write_keeps_the_archive(
    monkeypatch: pytest.MonkeyPatch, layout: Layout, downloads: Path
) -> None:
    archive = make_zip(downloads / "s.zip", MEMBERS)

    def broken(lay: Layout, result: Extracted) -> None:
        raise OSError("no space for the marker")

    monkeypatch.setattr(run, "write_marker", broken)
    with pytest.raises(OSError, match="no space for the marker"):
        extract_source(source("s", strip="images"), archive, layout)
    assert archive.exists()
    assert not is_extracted(source("s"), layout)
