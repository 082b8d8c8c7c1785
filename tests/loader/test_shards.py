"""ShardDataset over a WebDataset pack: same samples as the map-style dataset, sharding, workers, resume."""

from __future__ import annotations

import io
import json
import tarfile

import pytest

torch = pytest.importorskip("torch")

from llavamix.errors import BadSampleError  # noqa: E402
from llavamix.loader import LlavaNextDataset, ShardDataset  # noqa: E402
from llavamix.records import MixFile  # noqa: E402
from llavamix.records.shards import (  # noqa: E402
    Manifest,
    ShardEntry,
    encode_manifest,
    image_ext,
    manifest_path,
    sample_key,
    shard_name,
)


def _add(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def write_pack(mix_path, root, out, per_shard):
    """Tar shards in the pack layout (``<key>.json`` + ``<key>.<ext>``) and the manifest, written last."""
    mix = MixFile(mix_path)
    entries = []
    for number, start in enumerate(range(0, len(mix), per_shard)):
        stop = min(start + per_shard, len(mix))
        name, images = shard_name("mix", number, "webdataset"), 0
        with tarfile.open(out / name, "w") as tar:
            for i in range(start, stop):
                _add(tar, f"{sample_key(i)}.json", bytes(mix.raw[i]))
                image = mix.value(i).get("image")
                if image:
                    _add(tar, f"{sample_key(i)}.{image_ext(image)}", (root / image).read_bytes())
                    images += 1
        entries.append(ShardEntry(name, start, stop, stop - start, images, bytes=(out / name).stat().st_size))
    manifest = Manifest("webdataset", "mix", str(mix_path), mix_path.stat().st_size, len(mix), len(mix), "3", entries)
    manifest_path(out, "mix").write_bytes(encode_manifest(manifest))
    return out


@pytest.fixture(scope="module")
def pack(data_root, tmp_path_factory):
    return write_pack(data_root / "mix.json", data_root, tmp_path_factory.mktemp("pack"), per_shard=3)


def _ids(samples):
    return [tuple(s["input_ids"].tolist()) for s in samples]


def test_samples_equal_the_map_style_dataset(pack, data_root, legacy_tok):
    reference = LlavaNextDataset(data_root / "mix.json", data_root, legacy_tok)
    ds = ShardDataset(pack, legacy_tok, shuffle=False)
    got = list(ds)
    assert len(got) == len(ds) == len(reference)
    for i, sample in enumerate(got):
        expected = reference[i]
        assert torch.equal(sample["input_ids"], expected["input_ids"])
        assert torch.equal(sample["labels"], expected["labels"])
        assert torch.equal(sample["image"], expected["image"])
        assert sample["image_size"] == expected["image_size"]


def test_ranks_split_shards_and_even_cuts_to_the_shortest(pack, legacy_tok):
    ranks = [ShardDataset(pack, legacy_tok, world_size=2, rank=r, seed=3) for r in range(2)]
    streams = [_ids(list(r)) for r in ranks]
    assert len(streams[0]) == len(streams[1]) == len(ranks[0])
    uneven = [ShardDataset(pack, legacy_tok, world_size=2, rank=r, seed=3, even=False) for r in range(2)]
    all_ids = _ids(list(ShardDataset(pack, legacy_tok, shuffle=False)))
    assert sorted(_ids(list(uneven[0])) + _ids(list(uneven[1]))) == sorted(all_ids)


@pytest.mark.filterwarnings("ignore:This DataLoader will create")
@pytest.mark.parametrize("workers", [0, 2, 3])
def test_worker_count_does_not_change_the_stream(pack, legacy_tok, workers):
    ds = ShardDataset(pack, legacy_tok, batch_size=2, seed=1)
    expected = _ids(list(ds))
    loader = torch.utils.data.DataLoader(ds, batch_size=2, num_workers=workers, collate_fn=lambda b: b)
    assert [i for batch in loader for i in _ids(batch)] == expected


def test_epoch_changes_shard_order(pack, legacy_tok):
    ds = ShardDataset(pack, legacy_tok, seed=0)
    orders = set()
    for epoch in range(4):
        ds.set_epoch(epoch)
        orders.add(tuple(ds.rank_shards()))
    assert len(orders) > 1


@pytest.mark.parametrize("consumed", [0, 2, 4, 7])
def test_resume_with_workers_repeats_and_skips_nothing(pack, legacy_tok, consumed):
    ds = ShardDataset(pack, legacy_tok, batch_size=2, seed=2)
    ds.set_epoch(1)
    full = _ids(list(ds))
    state = ds.state_dict(consumed)
    resumed = ShardDataset(pack, legacy_tok, batch_size=2)
    resumed.load_state_dict(state)
    loader = torch.utils.data.DataLoader(resumed, batch_size=2, num_workers=2, collate_fn=lambda b: b)
    assert full[:consumed] + [i for batch in loader for i in _ids(batch)] == full


def test_bad_packed_image_raises_or_is_skipped(tmp_path, data_root, legacy_tok):
    records = json.loads((data_root / "mix.json").read_text())[:2]
    (tmp_path / "bad.jpg").write_bytes(b"garbage")
    records[0]["image"] = "bad.jpg"
    (tmp_path / "coco/train2017").mkdir(parents=True)
    (tmp_path / records[1]["image"]).write_bytes((data_root / records[1]["image"]).read_bytes())
    (tmp_path / "mix.json").write_text(json.dumps(records))
    out = tmp_path / "pack"
    out.mkdir()
    write_pack(tmp_path / "mix.json", tmp_path, out, per_shard=5)
    with pytest.raises(BadSampleError, match=r"record 0 \(id 'rec-0'\).*bad\.jpg"):
        list(ShardDataset(out, legacy_tok))
    skipping = ShardDataset(out, legacy_tok, on_bad_sample="skip")
    assert len(list(skipping)) == 1 and skipping.skipped == 1
