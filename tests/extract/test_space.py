"""The disk-space check: uncompressed size against free space, before anything is written."""

from __future__ import annotations

from pathlib import Path

import pytest

from llavamix import io
from llavamix.errors import DiskSpaceError
from llavamix.extract import ExtractOptions, extract_source
from llavamix.extract.archives import gzip_size_estimate
from llavamix.layout import Layout
from tests.extract.conftest import blob, make_zip, source, tar_of, tree

MIB = 1 << 20


def free(monkeypatch: pytest.MonkeyPatch, n: int) -> list[Path]:
    asked: list[Path] = []

    def fake(path: Path) -> int:
        asked.append(path)
        return n

    monkeypatch.setattr(io, "free_bytes", fake)
    return asked


def test_refuses_when_space_is_short(monkeypatch: pytest.MonkeyPatch, layout: Layout, downloads: Path) -> None:
    archive = make_zip(downloads / "c.zip", {"train2017/a.jpg": blob("a", 3 * MIB), "train2017/b.jpg": blob("b", MIB)})
    asked = free(monkeypatch, MIB)
    with pytest.raises(DiskSpaceError) as err:
        extract_source(source("coco", into="coco"), archive, layout)
    assert "needs 4.0 MiB" in str(err.value)
    assert "only 1.0 MiB is free" in str(err.value)
    assert "free up 3.0 MiB" in str(err.value)
    assert asked == [layout.root / "coco"]
    assert not layout.root.exists()


def test_enough_space_or_check_off_extracts(monkeypatch: pytest.MonkeyPatch, layout: Layout, downloads: Path) -> None:
    archive = make_zip(downloads / "c.zip", {"a.jpg": blob("a", MIB)})
    free(monkeypatch, MIB)  # exactly enough
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
    free(monkeypatch, MIB)
    extract_source(source("s"), archive, layout)
    assert tree(layout.root / "out") == {"d/a.jpg": blob("a", 3 * MIB), "d/b.jpg": blob("b", MIB)}


def test_tar_gz_uses_the_gzip_size(monkeypatch: pytest.MonkeyPatch, layout: Layout, downloads: Path) -> None:
    archive = tar_of(downloads / "s.tar.gz", {"d/a.txt": b"a" * (2 * MIB)}, "w:gz")
    assert archive.stat().st_size < 100_000
    assert gzip_size_estimate(archive) >= 2 * MIB  # tar headers and padding on top of the member
    free(monkeypatch, MIB)
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
    free(monkeypatch, MIB)
    with pytest.raises(DiskSpaceError, match=r"needs 2\.0 MiB"):
        extract_source(
            source("mix", archive="none", kind="mix_json"), download, layout, ExtractOptions(keep_archive=True)
        )
