"""The SAM subset: its sa_*.jpg files are found wherever the archive keeps them and land flat in sam/images/;
WebData's nested data/<name>/images/ is stripped; layouts that fit neither are refused before anything lands."""

from __future__ import annotations

from pathlib import Path

import pytest

from llavamix.catalog import Source
from llavamix.extract import Extracted, extract_sam, extract_source
from llavamix.foundation.errors import ArchiveLayoutError
from llavamix.foundation.layout import Layout
from tests.extract.conftest import make_zip, source, tar_of, tree

IMAGES = {"sa_10001.jpg": b"one", "sa_223750.jpg": b"two", "sa_5012.jpg": b"three"}


def sam(**kw: object) -> Source:
    return source("sam", into="sam/images", kind="sam", **kw)


def lay_out(src: Source, archive: Path, layout: Layout) -> Extracted:
    return extract_source(src, archive, layout, step=extract_sam)


@pytest.mark.parametrize("folder", ["", "images/", "sam_images_share-sft/", "data/sam/images/"])
def test_sam_images_land_flat_wherever_the_archive_keeps_them(tmp_path: Path, layout: Layout, folder: str) -> None:
    members = {folder + name: data for name, data in IMAGES.items()}
    members["__MACOSX/._sa_10001.jpg"] = b"resource fork"
    archive = make_zip(tmp_path / "sam.zip", members)
    done = lay_out(sam(), archive, layout)
    assert tree(layout.root / "sam" / "images") == IMAGES
    assert (done.files, done.roots) == (3, ["sam/images"])


def test_a_gzipped_tar_works_too(tmp_path: Path, layout: Layout) -> None:
    archive = tar_of(tmp_path / "sam.tar.gz", {"sam/": None, **{f"sam/{n}": d for n, d in IMAGES.items()}}, "w:gz")
    lay_out(sam(archive="tar.gz"), archive, layout)
    assert tree(layout.root / "sam" / "images") == IMAGES


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ({"a/sa_1.jpg": b"1", "b/sa_2.jpg": b"2"}, r"sit in 2 folders \(a, b\)"),
        ({"sa_1.jpg": b"1", "notes.txt": b"hi"}, r"1 file\(s\) beside the sa_\*\.jpg images.*notes\.txt"),
        ({"images/cat.jpg": b"1"}, "no sa_<number>.jpg files"),
    ],
)
def test_surprising_layouts_are_refused(tmp_path: Path, layout: Layout, members: dict, message: str) -> None:
    archive = make_zip(tmp_path / "sam.zip", members)
    with pytest.raises(ArchiveLayoutError, match=message):
        lay_out(sam(), archive, layout)
    assert not (layout.root / "sam").exists()


def test_webdata_zips_are_stripped_of_their_nesting(tmp_path: Path, layout: Layout) -> None:
    members = {"data/": None, "data/wikiart/": None, "data/wikiart/images/": None, "data/wikiart/images/a.jpg": b"a"}
    archive = make_zip(tmp_path / "wikiart.zip", members)
    src = source("wikiart", into="wikiart/images", strip="data/wikiart/images/")
    done = extract_source(src, archive, layout)
    assert tree(layout.root / "wikiart") == {"images/a.jpg": b"a"}
    assert done.roots == ["wikiart/images"]


def test_a_webdata_zip_with_another_nesting_is_refused(tmp_path: Path, layout: Layout) -> None:
    archive = make_zip(tmp_path / "wikiart.zip", {"wikiart/images/a.jpg": b"a"})
    src = source("wikiart", into="wikiart/images", strip="data/wikiart/images/")
    with pytest.raises(ArchiveLayoutError, match="not under strip='data/wikiart/images/'"):
        extract_source(src, archive, layout)
