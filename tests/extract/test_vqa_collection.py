"""vqa_collection.zip: its six dataset folders are detected (with or without a wrapper) and surprises refused."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from llavamix.catalog import Source
from llavamix.errors import ArchiveLayoutError, ConfigError
from llavamix.extract import extract_source
from llavamix.layout import Layout
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


def vqa(**kw: object) -> Source:
    return source("vqa_collection", into=".", kind="vqa_collection", **kw)


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
    result = extract_source(vqa(), archive, layout)
    files = tree(layout.root)
    files.pop(".llavamix/done/vqa_collection.extract")
    assert files == DATASETS
    assert result.roots == ROOTS
    assert result.files == 6
    assert not (layout.root / "vqa_collection").exists() and not (layout.root / "data").exists()


def test_chartqa_spelling_is_kept(layout: Layout, downloads: Path) -> None:
    members = {k.replace("chatqa", "chartqa"): v for k, v in DATASETS.items()}
    result = extract_source(vqa(), make_zip(downloads / "v.zip", members), layout)
    assert (layout.root / "chartqa/train/png/c.png").read_bytes() == b"chart"
    assert not (layout.root / "chatqa").exists()
    assert "chartqa/train/png" in result.roots


def test_a_lone_dataset_folder_is_not_taken_for_a_wrapper(
    layout: Layout, downloads: Path, caplog: pytest.LogCaptureFixture
) -> None:
    archive = make_zip(downloads / "v.zip", folders({"ai2d/images/1.png": b"a", "ai2d/images/2.png": b"b"}))
    with caplog.at_level(logging.WARNING):
        result = extract_source(vqa(), archive, layout)
    assert result.roots == ["ai2d/images"]
    assert (layout.root / "ai2d/images/2.png").read_bytes() == b"b"
    assert "docvqa" in caplog.text  # the missing datasets are named


def test_junk_is_ignored(layout: Layout, downloads: Path) -> None:
    members = folders(
        {**DATASETS, "__MACOSX/ai2d/images/._1.png": b"fork", "ai2d/images/.DS_Store": b"x", ".DS_Store": b"x"}
    )
    extract_source(vqa(), make_zip(downloads / "v.zip", members), layout)
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
        extract_source(vqa(), archive, layout)
    message = str(err.value)
    assert surprise in message
    assert "ai2d/images/" in message and "synthdog-en/images/" in message  # the known layouts
    assert not layout.root.exists()
    assert archive.exists()


def test_surprise_under_a_wrapper_names_the_stored_member(layout: Layout, downloads: Path) -> None:
    members = {"vqa_collection/" + k: v for k, v in {**DATASETS, "extra/x.png": b"?"}.items()}
    with pytest.raises(ArchiveLayoutError, match=r"vqa_collection/extra/x\.png"):
        extract_source(vqa(), make_zip(downloads / "v.zip", members), layout)


def test_two_wrappers_are_a_surprise(layout: Layout, downloads: Path) -> None:
    members = {"a/" + k: v for k, v in DATASETS.items()} | {"b/ai2d/images/2.png": b"x"}
    with pytest.raises(ArchiveLayoutError, match="fit none of the known"):
        extract_source(vqa(), make_zip(downloads / "v.zip", members), layout)


def test_empty_archive(layout: Layout, downloads: Path) -> None:
    with pytest.raises(ArchiveLayoutError, match="no image files"):
        extract_source(vqa(), make_zip(downloads / "v.zip", {"ai2d/": None}), layout)


def test_needs_an_archive(layout: Layout, downloads: Path) -> None:
    plain = downloads / "v.zip"
    plain.write_bytes(b"x")
    with pytest.raises(ConfigError, match="kind 'vqa_collection' needs archive"):
        extract_source(vqa(archive="none"), plain, layout)
