"""The disk-space check: what the files take in whole filesystem blocks and inodes against what is free, before
anything is written. Real small filesystems (tmpfs) where mounting is permitted, a reported free space elsewhere."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from llavamix.extract import ExtractOptions, extract_source, space
from llavamix.extract.archives import gzip_size_estimate
from llavamix.foundation.errors import DiskSpaceError
from llavamix.foundation.layout import Layout
from tests.extract.conftest import blob, make_zip, source, tar_of, tree
from tests.fs import SmallDisk

MIB = 1 << 20
BLOCK = 4096
SMALL: dict[str, bytes | None] = {f"d/{i // 100}/{i}.jpg": blob(str(i), 200) for i in range(2000)}


def free(monkeypatch: pytest.MonkeyPatch, blocks: int, inodes: int | None = 10_000) -> list[Path]:
    """Make every filesystem report ``blocks`` free 4 KiB blocks and ``inodes`` free inodes."""
    asked: list[Path] = []

    def fake(path: Path) -> space.Room:
        asked.append(path)
        return space.Room(BLOCK, blocks, inodes)

    monkeypatch.setattr(space, "room", fake)
    return asked


def build(kind: str, path: Path, members: dict[str, bytes | None]) -> Path:
    return make_zip(path, members) if kind == "zip" else tar_of(path, members, "w:gz" if kind == "tar.gz" else "w")


@pytest.mark.parametrize("kind", ["zip", "tar"])
def test_many_small_files_are_refused_up_front(kind: str, small_disk: SmallDisk, tmp_path: Path) -> None:
    """2,000 files of 200 bytes: 400 KB of bytes (a 2 MB tar) but 2,000 blocks (7.8 MiB) on a 4 MiB disk."""
    layout = Layout(small_disk("4m", 10_000) / "data", downloads=tmp_path / "downloads")
    archive = build(kind, tmp_path / f"s.{kind}", SMALL)
    assert archive.stat().st_size < 4 * MIB
    target = layout.root / "out"
    with pytest.raises(DiskSpaceError) as err:
        extract_source(source("s", archive=kind), archive, layout)
    message = str(err.value)
    assert re.search(
        rf"needs 8\.0 MiB under {re.escape(str(target))} \(2,05\d blocks of 4,096 bytes for 2,000 new files", message
    ), message
    assert re.search(r"only 4\.0 MiB \(1,024 blocks\) is free there: free up 4\.0 MiB", message), message
    assert "--root on a bigger disk" in message
    assert not target.exists()
    assert archive.exists()


def test_a_gzipped_tar_is_refused_before_the_disk_fills(small_disk: SmallDisk, tmp_path: Path) -> None:
    """Its file list is only known as it is read: it is refused at the first file that would not fit, from the
    staging folder, before anything reaches the target."""
    layout = Layout(small_disk("4m", 10_000) / "data", downloads=tmp_path / "downloads")
    archive = build("tar.gz", tmp_path / "s.tar.gz", SMALL)
    target = layout.root / "out"
    with pytest.raises(
        DiskSpaceError,
        match=rf"needs more than 4\.0 MiB under {re.escape(str(target))} \(1,02\d "
        r"blocks of 4,096 bytes for its first 1,0\d\d files, .* free up at least 4\.0 KiB",
    ):
        extract_source(source("s", archive="tar.gz"), archive, layout)
    assert not target.exists()
    assert not layout.staging("s").exists()
    assert archive.exists()


def test_inodes_are_counted(small_disk: SmallDisk, tmp_path: Path) -> None:
    layout = Layout(small_disk("64m", 1000) / "data", downloads=tmp_path / "downloads")
    archive = make_zip(tmp_path / "s.zip", SMALL)
    with pytest.raises(
        DiskSpaceError,
        match=r"creates 2,02\d files and folders under .*/out, but its filesystem has "
        r"room for only 99\d more \(free inodes\)",
    ):
        extract_source(source("s"), archive, layout)
    assert not (layout.root / "out").exists()


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_what_fits_is_extracted(kind: str, small_disk: SmallDisk, tmp_path: Path) -> None:
    """The count is not so cautious that a disk with room is refused: 2,000 blocks fit in 12 MiB."""
    layout = Layout(small_disk("12m", 2100) / "data", downloads=tmp_path / "downloads")
    archive = build(kind, tmp_path / f"s.{kind}", SMALL)
    extract_source(source("s", archive=kind), archive, layout)
    assert tree(layout.root / "out") == SMALL
    assert os.statvfs(layout.root).f_favail < 100  # the inode count was tight, and was enough


def test_refuses_when_space_is_short(monkeypatch: pytest.MonkeyPatch, layout: Layout, downloads: Path) -> None:
    archive = make_zip(downloads / "c.zip", {"train2017/a.jpg": blob("a", 3 * MIB), "train2017/b.jpg": blob("b", MIB)})
    asked = free(monkeypatch, MIB // BLOCK)
    with pytest.raises(DiskSpaceError) as err:
        extract_source(source("coco", into="coco"), archive, layout)
    assert "needs 4.0 MiB under" in str(err.value)
    assert "only 1.0 MiB (256 blocks) is free" in str(err.value)
    assert "free up 3.0 MiB" in str(err.value)
    assert asked == [layout.root / "coco"]
    assert not layout.root.exists()


def test_exactly_enough_blocks_extracts(monkeypatch: pytest.MonkeyPatch, layout: Layout, downloads: Path) -> None:
    """One 1 MiB file into a new ``data/one``: 256 blocks, a block of directory entries, two folders, the marker."""
    archive = make_zip(downloads / "c.zip", {"a.jpg": blob("a", MIB)})
    free(monkeypatch, 259)
    with pytest.raises(
        DiskSpaceError,
        match=r"\(260 blocks of 4,096 bytes for 1 new file, .*\(259 blocks\) is free there: free up 4\.0 KiB",
    ):
        extract_source(source("one", into="one"), archive, layout)
    free(monkeypatch, 260)
    extract_source(source("one", into="one"), archive, layout, ExtractOptions(keep_archive=True))
    free(monkeypatch, 0)
    extract_source(source("two", into="two"), archive, layout, ExtractOptions(check_space=False))
    assert tree(layout.root / "one") == tree(layout.root / "two") == {"a.jpg": blob("a", MIB)}


def test_rerun_counts_only_what_is_missing(monkeypatch: pytest.MonkeyPatch, layout: Layout, downloads: Path) -> None:
    """A killed run already wrote most files: the rerun needs room for the rest only."""
    archive = make_zip(downloads / "c.zip", {"d/a.jpg": blob("a", 3 * MIB), "d/b.jpg": blob("b", MIB)})
    done = layout.root / "out/d/a.jpg"
    done.parent.mkdir(parents=True)
    done.write_bytes(blob("a", 3 * MIB))
    free(monkeypatch, MIB // BLOCK + 2)  # b.jpg, its directory entry and the marker
    extract_source(source("s"), archive, layout)
    assert tree(layout.root / "out") == {"d/a.jpg": blob("a", 3 * MIB), "d/b.jpg": blob("b", MIB)}


def test_tar_gz_uses_the_gzip_size(monkeypatch: pytest.MonkeyPatch, layout: Layout, downloads: Path) -> None:
    archive = tar_of(downloads / "s.tar.gz", {"d/a.txt": b"a" * (2 * MIB)}, "w:gz")
    assert archive.stat().st_size < 100_000
    assert gzip_size_estimate(archive) >= 2 * MIB  # tar headers and padding on top of the member
    free(monkeypatch, MIB // BLOCK)
    with pytest.raises(DiskSpaceError, match=r"needs 2\.0 MiB"):
        extract_source(source("s", archive="tar.gz"), archive, layout)
    assert not layout.staging("s").exists()


def test_gzip_size_wraps_at_4_gib(tmp_path: Path) -> None:
    fake = tmp_path / "big.tar.gz"  # 5 GiB of barely compressible data: the trailer says 1 GiB
    with open(fake, "wb") as fh:
        fh.truncate(5 << 30)
        fh.seek((5 << 30) - 4)
        fh.write((1 << 30).to_bytes(4, "little"))
    assert gzip_size_estimate(fake) == 5 << 30


def test_copying_a_kept_plain_file_checks_space(
    monkeypatch: pytest.MonkeyPatch, layout: Layout, downloads: Path
) -> None:
    download = downloads / "mix.json"
    download.write_bytes(b"[]" * MIB)
    free(monkeypatch, MIB // BLOCK)
    with pytest.raises(DiskSpaceError, match=r"needs 2\.0 MiB"):
        extract_source(
            source("mix", archive="none", kind="mix_json"), download, layout, ExtractOptions(keep_archive=True)
        )
