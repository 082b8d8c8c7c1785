"""The loader reads LLaVA-1.5's and ShareGPT4V's mixes as their own training scripts do (template v1, images padded
to a square): items equal the reference's for records of every folder each mix reads, text-only rows included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from llavamix.catalog import load_catalog  # noqa: E402
from llavamix.loader import LlavaNextDataset, PreprocessConfig  # noqa: E402
from llavamix.prepare import PrepareOptions, prepare  # noqa: E402
from tests.loader import reference  # noqa: E402
from tests.loader.test_dataset import _assert_item_equal  # noqa: E402

MIXES = {
    "llava-1.5": "llava_v1_5_mix665k.json",
    "sharegpt4v": "sharegpt4v/" + load_catalog("sample")["sharegpt4v-json"].file_name,
}


@pytest.fixture(scope="module")
def family_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("family") / "data"
    report = prepare(load_catalog("sample"), list(MIXES), root, PrepareOptions(verify=False))
    assert report.ok, report.failures
    return root


def one_per_folder(records: list[dict]) -> list[int]:
    """The index of the first record of each image folder, and of the first text-only row."""
    seen: dict[str, int] = {}
    for i, record in enumerate(records):
        folder = record["image"].rsplit("/", 1)[0] if "image" in record else ""
        seen.setdefault(folder, i)
    return sorted(seen.values())


@pytest.mark.parametrize("group", list(MIXES))
def test_items_equal_reference_for_every_folder_of_the_mix(group, family_root, legacy_tok, clip):
    mix = family_root / MIXES[group]
    records = json.loads(mix.read_text())
    config = PreprocessConfig(template="v1", image_aspect_ratio="pad", model_max_length=legacy_tok.model_max_length)
    ds = LlavaNextDataset(mix, family_root, legacy_tok, config)
    args = reference.data_args(image_folder=family_root, image_processor=clip, image_aspect_ratio="pad")
    picked = one_per_folder(records)
    assert any("image" not in records[i] for i in picked)
    for i in picked:
        got, expected = ds[i], reference.getitem(records[i], legacy_tok, args, "v1")
        if "image" in records[i]:
            _assert_item_equal(got, expected)
        else:  # text-only: the reference's zero image, the same tokens
            assert torch.equal(got["input_ids"], expected["input_ids"])
            assert torch.equal(got["labels"], expected["labels"])
