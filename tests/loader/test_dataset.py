"""LlavaNextDataset items equal the reference dataset's, from the JSON and from an index; bad samples."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest

torch = pytest.importorskip("torch")

from llavamix.foundation.errors import BadSampleError, ConfigError  # noqa: E402
from llavamix.loader import LlavaNextDataset, PreprocessConfig  # noqa: E402
from tests.loader import reference  # noqa: E402
from tests.loader.conftest import IMAGES, write_index  # noqa: E402
from tests.loader.tokenizers import IM_TOKENS, with_tokens  # noqa: E402


def _assert_item_equal(got, expected):
    assert set(got) == {"input_ids", "labels", "image", "image_size"}
    assert torch.equal(got["input_ids"], expected["input_ids"])
    assert torch.equal(got["labels"], expected["labels"])
    assert got["image"].dtype == expected["image"].dtype
    assert torch.equal(got["image"], expected["image"])
    assert tuple(got["image_size"]) == tuple(expected["image_size"])


@pytest.fixture(scope="module")
def index_path(data_root, tmp_path_factory):
    return write_index(data_root / "mix.json", tmp_path_factory.mktemp("idx") / "mix.idx")


def _assert_equal_to_reference(ds, data_root, tokenizer, args, template, leave_out=()):
    records = json.loads((data_root / "mix.json").read_text())
    assert len(ds) == len(records)
    for i, record in enumerate(records):
        if record.get("image") not in leave_out:
            _assert_item_equal(ds[i], reference.getitem(record, tokenizer, args, template))


# transformers 4.x's CLIP processor cannot tell the channel axis of a 1x1 image and raises: the reference crashes on
# it with pad and square (anyres resizes it first), so there is nothing to compare with
ONE_PIXEL = {path for path, size, _ in IMAGES if size == (1, 1)}


@pytest.mark.parametrize("source", ["json", "index"])
@pytest.mark.parametrize("template", ["v1", "llava_llama_3"])
def test_items_equal_reference(source, template, data_root, index_path, legacy_tok, llama3_tok, clip):
    tokenizer = llama3_tok if template == "llava_llama_3" else legacy_tok
    config = PreprocessConfig(template=template, model_max_length=tokenizer.model_max_length)
    mix = data_root / "mix.json" if source == "json" else index_path
    ds = LlavaNextDataset(mix, data_root, tokenizer, config)
    args = reference.data_args(image_folder=data_root, image_processor=clip, image_grid_pinpoints=config.grid_pinpoints)
    _assert_equal_to_reference(ds, data_root, tokenizer, args, template)


@pytest.mark.parametrize("aspect", ["pad", "square"])
def test_items_equal_reference_for_each_aspect_ratio(aspect, data_root, legacy_tok, clip):
    """``pad``'s image_size is the padded square's (a 2000x300 image reports (2000, 2000)), ``square``'s the
    image's own; anyres is test_items_equal_reference."""
    config = PreprocessConfig(image_aspect_ratio=aspect)
    ds = LlavaNextDataset(data_root / "mix.json", data_root, legacy_tok, config)
    args = reference.data_args(image_folder=data_root, image_processor=clip, image_aspect_ratio=aspect)
    _assert_equal_to_reference(ds, data_root, legacy_tok, args, "v1", leave_out=ONE_PIXEL)


@pytest.mark.parametrize(("template", "tok"), [("v1", "sp"), ("mpt", "chatml-bpe"), ("llava_v0", "sp-legacy")])
def test_im_start_end_items_equal_reference(template, tok, data_root, family_tok, clip):
    tokenizer = with_tokens(family_tok(tok), IM_TOKENS)
    config = PreprocessConfig(template=template, image_aspect_ratio="square", mm_use_im_start_end=True)
    ds = LlavaNextDataset(data_root / "mix.json", data_root, tokenizer, config)
    args = reference.data_args(
        image_folder=data_root, image_processor=clip, image_aspect_ratio="square", mm_use_im_start_end=True
    )
    _assert_equal_to_reference(ds, data_root, tokenizer, args, template, leave_out=ONE_PIXEL)
    assert tokenizer.convert_tokens_to_ids(IM_TOKENS[0]) in ds[0]["input_ids"]


def test_text_only_model_items_equal_reference(data_root, legacy_tok, caplog):
    """is_multimodal=False: text-only records carry no image; an image record, which the reference (then without
    an image processor) crashes on, is a bad sample."""
    ds = LlavaNextDataset(data_root / "mix.json", data_root, legacy_tok, PreprocessConfig(is_multimodal=False))
    args = reference.data_args(is_multimodal=False)
    records = json.loads((data_root / "mix.json").read_text())
    text_only = [i for i, r in enumerate(records) if "image" not in r]
    assert text_only and len(text_only) < len(records)
    for i in text_only:
        expected = reference.getitem(records[i], legacy_tok, args, "v1")
        got = ds[i]
        assert set(got) == set(expected) == {"input_ids", "labels"}
        assert torch.equal(got["input_ids"], expected["input_ids"]) and torch.equal(got["labels"], expected["labels"])
    with pytest.raises(BadSampleError, match=r"record 0 \(id 'rec-0'\) has an image, but is_multimodal=False"):
        ds[0]
    skipping = LlavaNextDataset(
        data_root / "mix.json", data_root, legacy_tok, PreprocessConfig(is_multimodal=False), on_bad_sample="skip"
    )
    assert torch.equal(skipping[0]["input_ids"], ds[text_only[0]]["input_ids"])
    assert skipping.skipped == text_only[0]


def test_text_only_rows_get_a_zero_image(data_root, legacy_tok):
    ds = LlavaNextDataset(data_root / "mix.json", data_root, legacy_tok)
    item = ds[len(ds) - 1]
    assert torch.equal(item["image"], torch.zeros(3, 336, 336))
    assert item["image_size"] == (336, 336)
    assert ds[0]["image"].shape[1:] == (3, 336, 336)


@pytest.mark.parametrize("source", ["json", "index"])
def test_lengths_equal_reference_properties(source, data_root, index_path, legacy_tok):
    records = json.loads((data_root / "mix.json").read_text())
    mix = data_root / "mix.json" if source == "json" else index_path
    ds = LlavaNextDataset(mix, data_root, legacy_tok)
    words = [sum(len(t["value"].split()) for t in r["conversations"]) for r in records]
    assert ds.lengths == [w + (128 if "image" in r else 0) for w, r in zip(words, records, strict=True)]
    assert ds.modality_lengths == [w if "image" in r else -w for w, r in zip(words, records, strict=True)]


@pytest.fixture
def bad_root(tmp_path, data_root):
    """A mix whose records 1 (missing file), 2 (corrupt bytes) and 3 (null image) are bad."""
    records = json.loads((data_root / "mix.json").read_text())[:5]
    (tmp_path / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    records[1]["image"] = "nowhere/missing.jpg"
    records[2]["image"] = "corrupt.jpg"
    records[3]["image"] = None
    for rec in records:
        if isinstance(rec["image"], str) and rec["image"].startswith(("coco", "gqa", "ocr")):
            target = tmp_path / rec["image"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes((data_root / rec["image"]).read_bytes())
    (tmp_path / "mix.json").write_text(json.dumps(records))
    return tmp_path


def test_bad_image_raises_with_id_and_path(bad_root, legacy_tok):
    ds = LlavaNextDataset(bad_root / "mix.json", bad_root, legacy_tok)
    ds[0]
    with pytest.raises(BadSampleError, match=r"record 1 \(id 1\).*nowhere/missing\.jpg"):
        ds[1]
    with pytest.raises(BadSampleError, match=r"record 2 \(id 'rec-2'\).*corrupt\.jpg"):
        ds[2]
    with pytest.raises(BadSampleError, match=r"record 3 \(id 3\).*null"):
        ds[3]


def test_skip_returns_next_good_sample_and_counts(bad_root, legacy_tok, caplog):
    strict = LlavaNextDataset(bad_root / "mix.json", bad_root, legacy_tok)
    ds = LlavaNextDataset(bad_root / "mix.json", bad_root, legacy_tok, on_bad_sample="skip")
    with caplog.at_level(logging.WARNING, logger="llavamix.loader.dataset"):
        item = ds[1]
    assert ds.skipped == 3
    assert "nowhere/missing.jpg" in caplog.text
    assert torch.equal(item["input_ids"], strict[4]["input_ids"])


def test_untrainable_record_is_a_bad_sample(tmp_path, legacy_tok):
    bad = [{"id": "x", "conversations": [{"from": "human", "value": "q"}, {"from": "robot", "value": "a"}]}]
    (tmp_path / "mix.json").write_text(json.dumps(bad))
    with pytest.raises(BadSampleError, match="robot"):
        LlavaNextDataset(tmp_path / "mix.json", tmp_path, legacy_tok)[0]


def test_configuration_errors(tmp_path, data_root, legacy_tok):
    with pytest.raises(ConfigError, match="not found"):
        LlavaNextDataset(tmp_path / "absent.json", tmp_path, legacy_tok)
    with pytest.raises(ConfigError, match="on_bad_sample"):
        LlavaNextDataset(data_root / "mix.json", data_root, legacy_tok, on_bad_sample="ignore")
    with pytest.raises(ConfigError, match="template"):
        PreprocessConfig(template="v2")


def test_dataloader_workers(data_root, legacy_tok):
    from llavamix.loader import Collator

    ds = LlavaNextDataset(data_root / "mix.json", data_root, legacy_tok)
    loader = torch.utils.data.DataLoader(ds, batch_size=3, num_workers=2, collate_fn=Collator.for_tokenizer(legacy_tok))
    batches = list(loader)
    assert sum(len(b["input_ids"]) for b in batches) == len(ds)
    assert torch.equal(batches[0]["input_ids"][0][: len(ds[0]["input_ids"])], ds[0]["input_ids"])


def test_package_imports_without_torch_and_names_the_extra():
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "import llavamix.loader as L\n"
        "L.PreprocessConfig()\n"
        "try:\n    L.LlavaNextDataset\nexcept Exception as e:\n    print(type(e).__name__, e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.startswith("MissingExtra") and "llavamix[torch]" in out


@pytest.mark.parametrize("rid", [1.5, True, [1, 2], {"a": 1}])
def test_any_json_id_trains_as_the_reference_ignores_ids(data_root, legacy_tok, tmp_path, rid):
    records = json.loads((data_root / "mix.json").read_text())
    text_only = next(r for r in records if "image" not in r)
    (tmp_path / "mix.json").write_text(json.dumps([{**text_only, "id": rid}]))
    got = LlavaNextDataset(tmp_path / "mix.json", data_root, legacy_tok)[0]
    expected = LlavaNextDataset(data_root / "mix.json", data_root, legacy_tok)[records.index(text_only)]
    assert torch.equal(got["input_ids"], expected["input_ids"]) and torch.equal(got["labels"], expected["labels"])


def test_text_only_model_never_opens_an_image(bad_root, legacy_tok):
    """An image record is refused for what it is, before its image (here missing, corrupt, null) is looked at."""
    ds = LlavaNextDataset(bad_root / "mix.json", bad_root, legacy_tok, PreprocessConfig(is_multimodal=False))
    for i in (1, 2, 3):
        with pytest.raises(BadSampleError, match=rf"record {i} \(id .*\) has an image, but is_multimodal=False"):
            ds[i]
