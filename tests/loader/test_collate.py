"""The collator equals the reference DataCollatorForSupervisedDataset (plus Open-LLaVA-NeXT's image_sizes)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from llavamix.loader import IGNORE_INDEX, Collator, LlavaNextDataset, PreprocessConfig  # noqa: E402
from tests.loader import reference  # noqa: E402
from tests.loader.conftest import IMAGES, records  # noqa: E402
from tests.loader.tokenizers import llama_tokenizer  # noqa: E402


def _compare(samples, tokenizer):
    expected = reference.train.DataCollatorForSupervisedDataset(tokenizer=tokenizer)(samples)
    got = Collator.for_tokenizer(tokenizer)(samples)
    for key in ("input_ids", "labels", "attention_mask"):
        assert torch.equal(got[key], expected[key])
    if isinstance(expected["images"], list):
        assert isinstance(got["images"], list)
        assert all(torch.equal(a, b) for a, b in zip(got["images"], expected["images"], strict=True))
    else:
        assert torch.equal(got["images"], expected["images"])
    return got


def test_mixed_shapes_stay_a_list(data_root, legacy_tok):
    ds = LlavaNextDataset(data_root / "mix.json", data_root, legacy_tok)
    got = _compare([ds[0], ds[2], ds[len(ds) - 1]], legacy_tok)
    assert isinstance(got["images"], list)
    assert got["labels"][2, -1] == IGNORE_INDEX  # the shortest sample is padded with IGNORE_INDEX


def test_same_shapes_are_stacked(data_root, legacy_tok):
    ds = LlavaNextDataset(data_root / "mix.json", data_root, legacy_tok)
    got = _compare([ds[0], ds[1]], legacy_tok)
    assert got["images"].shape == (2, 5, 3, 336, 336)


def test_batches_are_cut_to_model_max_length(data_root, sp_model):
    tokenizer = llama_tokenizer(sp_model, legacy=True, max_length=12)
    config = PreprocessConfig(model_max_length=12)
    ds = LlavaNextDataset(data_root / "mix.json", data_root, tokenizer, config)
    got = _compare([ds[1], ds[3]], tokenizer)
    assert got["input_ids"].shape[1] == 12


# each image's (width, height) as the fixture wrote it: known without running any of the code under test
SIZES = {path: size for path, size, _ in IMAGES}


@pytest.mark.parametrize(
    ("aspect", "known"),
    [
        ("anyres", lambda w, h: (w, h)),
        ("square", lambda w, h: (w, h)),
        ("pad", lambda w, h: (max(w, h), max(w, h))),  # the reference measures the image once padded to a square
    ],
)
def test_image_sizes_are_each_samples_known_size_in_order(aspect, known, data_root, legacy_tok):
    """Open-LLaVA-NeXT's collator adds ``image_sizes`` (the 1.2.2 reference has none): one (width, height) per
    sample, in batch order; a text-only sample's is the crop size, as the reference's zeros image has."""
    ds = LlavaNextDataset(data_root / "mix.json", data_root, legacy_tok, PreprocessConfig(image_aspect_ratio=aspect))
    recs = records()
    text_only = next(i for i, r in enumerate(recs) if "image" not in r)
    order = [3, 0, text_only, 2, 7]  # wide, landscape, text-only, tall, large: no two sizes alike
    got = Collator.for_tokenizer(legacy_tok)([ds[i] for i in order])
    expected = [known(*SIZES[recs[i]["image"]]) if "image" in recs[i] else (336, 336) for i in order]
    assert [tuple(size) for size in got["image_sizes"]] == expected
    assert len(set(expected)) == len(expected)
