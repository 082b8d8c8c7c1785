"""Round trips: zip, tar and tar.gz archives land under ROOT/<into> with ``strip`` removed, with a marker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llavamix.catalog import load_catalog
from llavamix.extract import ExtractOptions, extract_source, is_extracted, read_extracted
from llavamix.foundation.errors import ArchiveLayoutError, ConfigError, CorruptArchiveError
from llavamix.foundation.layout import Layout
from tests.extract.conftest import Recorder, blob, make_zip, source, tar_of, tree

MEMBERS: dict[str, bytes | None] = {
    "data/": None,
    "data/wikiart/": None,
    "data/wikiart/images/": None,
    "data/wikiart/images/a.jpg": blob("a"),
    "data/wikiart/images/sub/b.jpg": blob("b", 5000),
    "data/wikiart/images/empty/": None,
}
EXPECTED = {"wikiart/images/a.jpg": blob("a"), "wikiart/images/sub/b.jpg": blob("b", 5000)}


def build(kind: str, path: Path, members: dict[str, bytes | None]) -> Path:
    if kind == "zip":
        return make_zip(path, members)
    return tar_of(path, members, "w:gz" if kind == "tar.gz" else "w")


@pytest.mark.parametrize("kind", ["zip", "tar", "tar.gz"])
def test_round_trip_with_strip(kind: str, layout: Layout, downloads: Path) -> None:
    archive = build(kind, downloads / f"w.{kind}", MEMBERS)
    src = source("wikiart", archive=kind, into="wikiart/images", strip="data/wikiart/images/")
    result = extract_source(src, archive, layout)
    files = tree(layout.root)
    assert files.pop(".llavamix/done/wikiart.extract")
    assert files == EXPECTED
    assert (layout.root / "wikiart/images/empty").is_dir()
    assert (result.files, result.bytes, result.roots) == (2, 300 + 5000, ["wikiart/images"])
    assert read_extracted(src, layout) == result
    assert not archive.exists()
    assert not layout.staging("wikiart").exists()


@pytest.mark.parametrize("kind", ["zip", "tar", "tar.gz"])
@pytest.mark.parametrize("strip", ["images/", "images", "data/images/"])
def test_strip_removes_a_repeated_prefix_once(strip: str, kind: str, layout: Layout, downloads: Path) -> None:
    """The prefix is removed from the front, once: the same folder name deeper down is part of the path."""
    top = strip.rstrip("/") + "/"
    members: dict[str, bytes | None] = {
        f"{top}{top}a.jpg": blob("a"),
        f"{top}{top}{top}b.jpg": blob("b"),
        f"{top}x/{top}c.jpg": blob("c"),
        f"{top}d.jpg": blob("d"),
    }
    archive = build(kind, downloads / f"s.{kind}", members)
    extract_source(source("s", archive=kind, strip=strip), archive, layout)
    assert tree(layout.root / "out") == {
        f"{top}a.jpg": blob("a"),
        f"{top}{top}b.jpg": blob("b"),
        f"x/{top}c.jpg": blob("c"),
        "d.jpg": blob("d"),
    }


def test_marker_is_the_result_as_json(layout: Layout, downloads: Path) -> None:
    archive = make_zip(downloads / "c.zip", {"train2017/1.jpg": blob("1")})
    result = extract_source(source("coco", into="coco"), archive, layout)
    marker = json.loads(layout.marker("coco", "extract").read_text())
    assert marker == {"source": "coco", "files": 1, "bytes": 300, "roots": ["coco/train2017"]}
    assert result.roots == ["coco/train2017"]


def test_keep_archive(layout: Layout, downloads: Path) -> None:
    archive = make_zip(downloads / "c.zip", {"train2017/1.jpg": blob("1")})
    extract_source(source("coco", into="coco"), archive, layout, ExtractOptions(keep_archive=True))
    assert archive.exists()
    assert (layout.root / "coco/train2017/1.jpg").read_bytes() == blob("1")


def test_finished_source_is_not_redone_and_leftover_archive_goes(layout: Layout, downloads: Path) -> None:
    src = source("coco", into="coco")
    first = extract_source(src, make_zip(downloads / "c.zip", {"train2017/1.jpg": blob("1")}), layout)
    # a run killed between its marker and the archive's deletion leaves the download behind
    leftover = make_zip(downloads / "c.zip", {"train2017/2.jpg": blob("2")})
    assert extract_source(src, leftover, layout) == first
    assert not leftover.exists()
    assert not (layout.root / "coco/train2017/2.jpg").exists()
    assert is_extracted(src, layout)


@pytest.mark.parametrize("jobs", [1, 3])
def test_parallel_writers_give_the_same_tree(jobs: int, layout: Layout, downloads: Path) -> None:
    members: dict[str, bytes | None] = {f"{i // 10:05d}/{i}.jpg": blob(str(i), 100 + i) for i in range(50)}
    archive = make_zip(downloads / "images.zip", members)
    src = source("pretrain", into="llava/llava_pretrain/images", image_prefixes=["llava/llava_pretrain/images"])
    result = extract_source(src, archive, layout, ExtractOptions(jobs=jobs))
    files = tree(layout.root / "llava/llava_pretrain/images")
    assert files == {k: v for k, v in members.items() if v is not None}
    assert result.roots == ["llava/llava_pretrain/images"]
    assert result.files == 50


def test_progress_counts_bytes(layout: Layout, downloads: Path) -> None:
    archive = make_zip(downloads / "c.zip", {"a/1.jpg": blob("1", 10), "a/2.jpg": blob("2", 20)})
    progress = Recorder()
    extract_source(source("s"), archive, layout, ExtractOptions(progress=progress))
    assert progress.events == [("start", "s", 30), ("advance", "s", 10), ("advance", "s", 20), ("finish", "s", None)]


def test_macos_junk_is_skipped(layout: Layout, downloads: Path) -> None:
    members: dict[str, bytes | None] = {
        "images/a.jpg": blob("a"),
        "images/.DS_Store": b"junk",
        "__MACOSX/images/._a.jpg": b"junk",
    }
    extract_source(source("s", into="x", strip="images"), make_zip(downloads / "s.zip", members), layout)
    assert tree(layout.root / "x") == {"a.jpg": blob("a")}


def test_member_outside_strip_is_a_layout_error(layout: Layout, downloads: Path) -> None:
    archive = make_zip(downloads / "s.zip", {"images/a.jpg": b"a", "other/b.jpg": b"b"})
    with pytest.raises(ArchiveLayoutError, match=r"strip='images/', e\.g\. \['other/b\.jpg'\]"):
        extract_source(source("s", strip="images/"), archive, layout)
    assert not layout.root.exists()
    assert archive.exists()


def test_missing_archive_says_to_fetch(layout: Layout, downloads: Path) -> None:
    with pytest.raises(ConfigError, match="llavamix fetch coco"):
        extract_source(source("coco"), downloads / "nope.zip", layout)


@pytest.mark.parametrize("kind", ["zip", "tar", "tar.gz"])
def test_damaged_archive_says_to_download_again(kind: str, layout: Layout, downloads: Path) -> None:
    good = build(kind, downloads / f"g.{kind}", {"a/1.jpg": blob("1", 20_000), "a/2.jpg": blob("2", 20_000)})
    bad = downloads / f"bad.{kind}"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(CorruptArchiveError, match="download it afresh"):
        extract_source(source("s", archive=kind), bad, layout)
    assert not is_extracted(source("s", archive=kind), layout)
    assert bad.exists()


def test_zip_crc_mismatch_is_caught(layout: Layout, downloads: Path) -> None:
    archive = make_zip(downloads / "s.zip", {"a/1.jpg": blob("1", 1000)})
    raw = bytearray(archive.read_bytes())
    at = raw.index(blob("1", 1000))
    raw[at + 500] ^= 0xFF  # flip one stored byte: the member's CRC no longer matches
    archive.write_bytes(bytes(raw))
    with pytest.raises(CorruptArchiveError, match=r"BadZipFile.*download it afresh"):
        extract_source(source("s"), archive, layout)
    assert not (layout.root / "out/a/1.jpg").exists()
    assert not list(layout.root.rglob("*.part"))


def test_the_real_catalog_layouts(layout: Layout, downloads: Path) -> None:
    """Archives shaped like each real download land where the mix JSON looks, VG parts sharing ``vg/``."""
    catalog = load_catalog("default")
    shapes = {
        "llava-pretrain-images": (
            {"00000/000000001.jpg": b"p", "00659/006590001.jpg": b"q"},
            ["llava/llava_pretrain/images"],
        ),
        "coco": ({"train2017/": None, "train2017/000000000009.jpg": b"c"}, ["coco/train2017"]),
        "gqa": ({"images/1.jpg": b"g"}, ["gqa/images"]),
        "textvqa": ({"train_images/t.jpg": b"t"}, ["textvqa/train_images"]),
        "vg1": ({"VG_100K/1.jpg": b"v"}, ["vg/VG_100K"]),
        "vg2": ({"VG_100K_2/2.jpg": b"w"}, ["vg/VG_100K_2"]),
        "allava_vflan": ({"images_191task_1k/task/x.png": b"f"}, ["allava_vflan/images"]),
    }
    for name, (members, roots) in shapes.items():
        archive = make_zip(downloads / f"{name}.zip", members)
        assert extract_source(catalog[name], archive, layout).roots == roots
    landed = set(tree(layout.root))
    for path in (
        "llava/llava_pretrain/images/00000/000000001.jpg",
        "coco/train2017/000000000009.jpg",
        "gqa/images/1.jpg",
        "textvqa/train_images/t.jpg",
        "vg/VG_100K/1.jpg",
        "vg/VG_100K_2/2.jpg",
        "allava_vflan/images/images_191task_1k/task/x.png",
    ):
        assert path in landed
    assert is_extracted(catalog["vg1"], layout) and is_extracted(catalog["vg2"], layout)
