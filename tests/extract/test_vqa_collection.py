"""vqa_collection.zip: its six dataset folders are detected (with or without a wrapper) and surprises refused."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from llavamix.catalog import Source, load_catalog
from llavamix.extract import Extracted, extract_source, extract_vqa_collection
from llavamix.foundation.errors import ArchiveLayoutError
from llavamix.foundation.layout import Layout
from tests.extract.conftest import make_zip, source, tree

DATASETS = {
    "ai2d/images/1.png": b"ai2d",
    "chatqa/train/png/c.png": b"chart",
    "docvqa/train/documents/d.png": b"doc",
    "dvqa/images/v.png": b"dvqa",
    "geoqa+/images/g.png": b"geo",
    "synthdog-en/images/s.jpg": b"synth",
}
ROOTS = [
    "ai2d/images",
    "chatqa/train/png",
    "docvqa/train/documents",
    "dvqa/images",
    "geoqa+/images",
    "synthdog-en/images",
]


REAL = load_catalog()["vqa_collection"]  # the dataset folders and their spellings are the catalog's


def vqa(**kw: object) -> Source:
    folders = {"image_prefixes": REAL.image_prefixes, "spellings": REAL.spellings}
    return source("vqa_collection", into=".", kind="vqa_collection", **folders, **kw)


def lay_out(src: Source, archive: Path, layout: Layout) -> Extracted:
    return extract_source(src, archive, layout, step=extract_vqa_collection)


def folders(members: dict[str, bytes]) -> dict[str, bytes | None]:
    """Members plus the folder entries a zip tool would add for them."""
    out: dict[str, bytes | None] = {}
    for name, data in members.items():
        parts = name.split("/")
        for i in range(1, len(parts)):
            out["/".join(parts[:i]) + "/"] = None
        out[name] = data
    return out


@pytest.mark.parametrize("wrapper", ["", "vqa_collection/", "data/"])
def test_datasets_land_under_the_root(wrapper: str, layout: Layout, downloads: Path) -> None:
    members = folders({wrapper + k: v for k, v in DATASETS.items()})
    archive = make_zip(downloads / "vqa_collection.zip", members)
    result = lay_out(vqa(), archive, layout)
    files = tree(layout.root)
    files.pop(".llavamix/done/vqa_collection.extract")
    assert files == DATASETS
    assert result.roots == ROOTS
    assert result.files == 6
    assert not (layout.root / "vqa_collection").exists() and not (layout.root / "data").exists()


def test_chartqa_spelling_is_kept(layout: Layout, downloads: Path) -> None:
    members = {k.replace("chatqa", "chartqa"): v for k, v in DATASETS.items()}
    result = lay_out(vqa(), make_zip(downloads / "v.zip", members), layout)
    assert (layout.root / "chartqa/train/png/c.png").read_bytes() == b"chart"
    assert not (layout.root / "chatqa").exists()
    assert "chartqa/train/png" in result.roots


def test_a_lone_dataset_folder_is_not_taken_for_a_wrapper(
    layout: Layout, downloads: Path, caplog: pytest.LogCaptureFixture
) -> None:
    archive = make_zip(downloads / "v.zip", folders({"ai2d/images/1.png": b"a", "ai2d/images/2.png": b"b"}))
    with caplog.at_level(logging.WARNING):
        result = lay_out(vqa(), archive, layout)
    assert result.roots == ["ai2d/images"]
    assert (layout.root / "ai2d/images/2.png").read_bytes() == b"b"
    assert "docvqa" in caplog.text  # the missing datasets are named


def test_junk_is_ignored(layout: Layout, downloads: Path) -> None:
    members = folders(
        {**DATASETS, "__MACOSX/ai2d/images/._1.png": b"fork", "ai2d/images/.DS_Store": b"x", ".DS_Store": b"x"}
    )
    lay_out(vqa(), make_zip(downloads / "v.zip", members), layout)
    files = tree(layout.root)
    files.pop(".llavamix/done/vqa_collection.extract")
    assert files == DATASETS


@pytest.mark.parametrize(
    "surprise",
    [
        "sqa/images/x.png",  # a dataset nobody expected
        "ai2d/x.png",  # the right dataset in the wrong folder
        "docvqa/images/d.png",  # LLaVA-NeXT's layout rather than Open-LLaVA-NeXT's
        "README.md",
    ],
)
def test_surprises_fail_clearly(surprise: str, layout: Layout, downloads: Path) -> None:
    archive = make_zip(downloads / "v.zip", folders({**DATASETS, surprise: b"?"}))
    with pytest.raises(ArchiveLayoutError) as err:
        lay_out(vqa(), archive, layout)
    message = str(err.value)
    assert surprise in message
    assert "ai2d/images/" in message and "synthdog-en/images/" in message  # the known layouts
    assert not layout.root.exists()
    assert archive.exists()


def test_surprise_under_a_wrapper_names_the_stored_member(layout: Layout, downloads: Path) -> None:
    members = {"vqa_collection/" + k: v for k, v in {**DATASETS, "extra/x.png": b"?"}.items()}
    with pytest.raises(ArchiveLayoutError, match=r"vqa_collection/extra/x\.png"):
        lay_out(vqa(), make_zip(downloads / "v.zip", members), layout)


def test_two_wrappers_are_a_surprise(layout: Layout, downloads: Path) -> None:
    members = {"a/" + k: v for k, v in DATASETS.items()} | {"b/ai2d/images/2.png": b"x"}
    with pytest.raises(ArchiveLayoutError, match="fit none of the known"):
        lay_out(vqa(), make_zip(downloads / "v.zip", members), layout)


def test_empty_archive(layout: Layout, downloads: Path) -> None:
    with pytest.raises(ArchiveLayoutError, match="no image files"):
        lay_out(vqa(), make_zip(downloads / "v.zip", {"ai2d/": None}), layout)


def test_the_folders_are_the_sources_image_prefixes(layout: Layout, downloads: Path) -> None:
    """The step has no folder list of its own: a collection whose catalog entry names other folders lands those."""
    src = source("other", into=".", kind="vqa_collection", image_prefixes=["maps/images", "charts/png"])
    members = folders({"maps/images/m.png": b"m", "charts/png/c.png": b"c"})
    result = lay_out(src, make_zip(downloads / "o.zip", members), layout)
    assert result.roots == ["charts/png", "maps/images"]
    with pytest.raises(ArchiveLayoutError, match=r"fit none of the known.*expected only maps/images/, charts/png/"):
        lay_out(src, make_zip(downloads / "v.zip", folders(DATASETS)), Layout(layout.root.parent / "other"))
