"""ShardDataset over real WebDataset and Parquet packs: sharding, workers, epochs, resume, bad samples.

Sample-by-sample equality with the map-style dataset lives in test_roundtrip.py.
"""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")

from llavamix.foundation.errors import BadSampleError  # noqa: E402
from llavamix.foundation.formats.pack import FORMATS  # noqa: E402
from llavamix.loader import Collator, PreprocessConfig, ShardDataset  # noqa: E402
from llavamix.pack import PackOptions, ShardSize, pack_mix  # noqa: E402


def write_pack(mix_path, root, out, fmt, per_shard):
    """The real ``llavamix pack`` output: ``per_shard`` records per shard, manifest written last; records verify
    gives an error (the fixture's empty answer, ``empty_text``) are left out, as pack leaves them out."""
    options = PackOptions(format=fmt, shard_size=ShardSize.parse(str(per_shard)), on_error="skip")
    report = pack_mix(mix_path, root, out, options)
    assert report.manifest is not None
    return out


@pytest.fixture(scope="module", params=FORMATS)
def pack(request, data_root, tmp_path_factory):
    out = tmp_path_factory.mktemp(f"pack-{request.param}")
    return write_pack(data_root / "mix.json", data_root, out, request.param, per_shard=3)


def _ids(samples):
    return [tuple(s["input_ids"].tolist()) for s in samples]


def test_ranks_split_shards_and_even_cuts_to_the_shortest(pack, legacy_tok):
    ranks = [ShardDataset(pack, legacy_tok, world_size=2, rank=r, seed=3) for r in range(2)]
    streams = [_ids(list(r)) for r in ranks]
    assert len(streams[0]) == len(streams[1]) == len(ranks[0])
    uneven = [ShardDataset(pack, legacy_tok, world_size=2, rank=r, seed=3, even=False) for r in range(2)]
    all_ids = _ids(list(ShardDataset(pack, legacy_tok, shuffle=False)))
    assert sorted(_ids(list(uneven[0])) + _ids(list(uneven[1]))) == sorted(all_ids)


def _through_loader(ds, workers, batch_size=2):
    loader = torch.utils.data.DataLoader(ds, batch_size=batch_size, num_workers=workers, collate_fn=lambda b: b)
    return [_ids(batch) for batch in loader]


@pytest.mark.filterwarnings("ignore:This DataLoader will create")
@pytest.mark.parametrize("workers", [0, 2, 3])
def test_each_worker_count_gives_one_deterministic_stream_of_every_sample(pack, legacy_tok, workers):
    """Workers read disjoint shards, so the stream's order depends on their number: for each number it is the
    same every time, and it holds every sample of the rank exactly once."""
    ds = ShardDataset(pack, legacy_tok, batch_size=2, seed=1)
    first = [i for batch in _through_loader(ds, workers) for i in batch]
    assert [i for batch in _through_loader(ds, workers) for i in batch] == first
    assert sorted(first) == sorted(_ids(list(ds))) and len(first) == len(ds)


def test_epoch_changes_shard_order(pack, legacy_tok):
    ds = ShardDataset(pack, legacy_tok, seed=0)
    orders = set()
    for epoch in range(4):
        ds.set_epoch(epoch)
        orders.add(tuple(ds.rank_shards()))
    assert len(orders) > 1


@pytest.mark.parametrize("steps", [0, 1, 2, 3, 5])
def test_resume_with_workers_repeats_and_skips_nothing(pack, legacy_tok, steps):
    ds = ShardDataset(pack, legacy_tok, batch_size=2, seed=2, num_workers=2)
    ds.set_epoch(1)
    batches = _through_loader(ds, 2)
    full = [i for batch in batches for i in batch]
    consumed = sum(len(batch) for batch in batches[:steps])  # the samples of the batches taken
    state = ds.state_dict(consumed)
    resumed = ShardDataset(pack, legacy_tok, batch_size=2)
    resumed.load_state_dict(state)
    rest = [i for batch in _through_loader(resumed, 2) for i in batch]
    assert full[:consumed] + rest == full
    # the two runs together are exactly one epoch: every record once (the records' token ids are all distinct)
    one_epoch = _ids(list(ShardDataset(pack, legacy_tok, shuffle=False)))
    assert len(set(one_epoch)) == len(one_epoch)
    assert sorted(full[:consumed] + rest) == sorted(one_epoch)


@pytest.mark.parametrize("fmt", FORMATS)
def test_bad_packed_image_raises_or_is_skipped(tmp_path, data_root, legacy_tok, fmt):
    records = json.loads((data_root / "mix.json").read_text())[:2]
    (tmp_path / "bad.jpg").write_bytes(b"garbage")
    records[0]["image"] = "bad.jpg"
    (tmp_path / "coco/train2017").mkdir(parents=True)
    (tmp_path / records[1]["image"]).write_bytes((data_root / records[1]["image"]).read_bytes())
    (tmp_path / "mix.json").write_text(json.dumps(records))
    out = write_pack(tmp_path / "mix.json", tmp_path, tmp_path / "pack", fmt, per_shard=5)
    with pytest.raises(BadSampleError, match=r"record 0 \(id 'rec-0'\).*bad\.jpg"):
        list(ShardDataset(out, legacy_tok))
    skipping = ShardDataset(out, legacy_tok, on_bad_sample="skip")
    assert len(list(skipping)) == 1 and skipping.skipped == 1
    # a text-only model refuses the record for having an image before it decodes the bad bytes
    with pytest.raises(BadSampleError, match=r"record 0 \(id 'rec-0'\) has an image, but is_multimodal=False"):
        list(ShardDataset(out, legacy_tok, PreprocessConfig(is_multimodal=False)))


def test_text_only_model_streams_text_only_records(pack, data_root, legacy_tok):
    """is_multimodal=False: image records are bad samples (skipped here), text-only ones carry no image."""
    config = PreprocessConfig(is_multimodal=False)
    with pytest.raises(BadSampleError, match=r"has an image, but is_multimodal=False is a text-only model"):
        list(ShardDataset(pack, legacy_tok, config, shuffle=False))
    ds = ShardDataset(pack, legacy_tok, config, shuffle=False, on_bad_sample="skip")
    samples = list(ds)
    records = json.loads((data_root / "mix.json").read_text())
    text_only = [r for r in records if "image" not in r]
    assert len(samples) == len(text_only) and ds.skipped == len(ds) - len(text_only)
    assert all(set(s) == {"input_ids", "labels"} for s in samples)
    batch = Collator.for_tokenizer(legacy_tok)(samples)
    assert set(batch) == {"input_ids", "labels", "attention_mask"}
