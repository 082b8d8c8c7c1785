"""The dataset reads images inside its root only, and only regular files: a path that is absolute or climbs out, a
FIFO and a link to /dev/zero are bad samples naming the record and the path, never a read outside, a hang or an
endless read."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.fs import no_hang

pytest.importorskip("torch")

from llavamix.foundation.errors import BadSampleError
from llavamix.loader import LlavaNextDataset


@pytest.fixture
def hostile(tmp_path: Path, data_root: Path) -> tuple[Path, dict[str, str]]:
    """A root whose records point at real images outside it, a FIFO and a /dev/zero link (name -> image path)."""
    root = tmp_path / "a" / "data"
    (root / "coco").mkdir(parents=True)
    image = (data_root / "coco/train2017/a.jpg").read_bytes()
    (tmp_path / "outside.jpg").write_bytes(image)  # a good image: read, it would make a good sample
    os.mkfifo(root / "coco" / "fifo.jpg")
    (root / "coco" / "zero.jpg").symlink_to("/dev/zero")
    paths = {
        "absolute": str(tmp_path / "outside.jpg"),
        "climbing": "coco/../../../outside.jpg",
        "fifo": "coco/fifo.jpg",
        "zero": "coco/zero.jpg",
    }
    assert (root / paths["climbing"]).resolve() == tmp_path / "outside.jpg"
    turns = [{"from": "human", "value": "<image>\nwhat is it?"}, {"from": "gpt", "value": "a picture."}]
    records = [{"id": name, "image": path, "conversations": turns} for name, path in paths.items()]
    (root / "mix.json").write_text(json.dumps(records))
    return root, paths


@pytest.mark.parametrize(
    ("index", "name", "why"),
    [
        (0, "absolute", "is an absolute path"),
        (1, "climbing", "climbs out of its folder"),
        (2, "fifo", r"not a regular file \(a FIFO\)"),
        (3, "zero", r"not a regular file \(a character device\)"),
    ],
)
def test_bad_paths_and_special_files_are_bad_samples(hostile, legacy_tok, index: int, name: str, why: str) -> None:
    root, paths = hostile
    ds = LlavaNextDataset(root / "mix.json", root, legacy_tok)
    expected = rf"record {index} \(id '{name}'\): .*{paths[name].replace('.', '[.]')}.*{why}"
    with no_hang(), pytest.raises(BadSampleError, match=expected):
        ds[index]
