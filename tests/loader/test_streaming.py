"""ShardDataset streaming a pack from local disk and from a real S3-compatible server (moto on loopback): bytes read
per epoch counted where shards are opened, item-for-item parity with LlavaNextDataset, resume through workers, the
cache folder, ranks from the environment."""

from __future__ import annotations

import multiprocessing

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("pyarrow")

from llavamix.foundation.errors import ConfigError  # noqa: E402
from llavamix.foundation.formats.pack import FORMATS, read_manifest  # noqa: E402
from llavamix.foundation.storage import is_url  # noqa: E402
from llavamix.loader import LlavaNextDataset, ShardDataset, shardio  # noqa: E402
from llavamix.pack import PackOptions, ShardSize, pack_mix  # noqa: E402
from tests.loader.test_roundtrip import assert_same  # noqa: E402

WORKERS = 4


@pytest.fixture(scope="module", params=FORMATS)
def pack(request, data_root, tmp_path_factory):
    out = tmp_path_factory.mktemp(f"stream-{request.param}")
    options = PackOptions(format=request.param, shard_size=ShardSize.parse("2"), on_error="skip")
    assert pack_mix(data_root / "mix.json", data_root, out, options).manifest is not None
    return out


class Counted:
    """A shard file whose reads add to shared counters (DataLoader workers are forked: they share them)."""

    def __init__(self, raw, counter):
        self.raw, self.counter = raw, counter

    def read(self, size=-1):
        data = self.raw.read(size)
        with self.counter.get_lock():
            self.counter.value += len(data)
        return data

    def __getattr__(self, name):
        return getattr(self.raw, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.raw.close()


@pytest.fixture
def counted(monkeypatch):
    """``{"local": n, "remote": n}``-like counters of the bytes read from shard files, by where they are."""
    counters = {"local": multiprocessing.Value("q", 0), "remote": multiprocessing.Value("q", 0)}
    opener = shardio.open_source

    def open_counted(target, options):
        return Counted(opener(target, options), counters["remote" if is_url(target) else "local"])

    monkeypatch.setattr(shardio, "open_source", open_counted)
    return counters


def through_loader(ds, workers=WORKERS, batch_size=2):
    loader = torch.utils.data.DataLoader(ds, batch_size=batch_size, num_workers=workers, collate_fn=lambda b: b)
    return [batch for batch in loader]


def flat(batches):
    return [tuple(s["input_ids"].tolist()) for batch in batches for s in batch]


def upload(pack, s3):
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()  # each test's server has its own port
    s3fs.S3FileSystem().put(f"{pack}/", f"{s3.bucket}/pack/", recursive=True)
    return s3.url("pack/")


@pytest.mark.filterwarnings("ignore:This DataLoader will create")
def test_four_workers_read_the_local_pack_about_once_per_epoch(pack, legacy_tok, counted):
    size = read_manifest(pack).bytes
    ds = ShardDataset(pack, legacy_tok, batch_size=2, world_size=1, rank=0)
    for epoch in range(2):
        ds.set_epoch(epoch)
        before = counted["local"].value
        assert len(flat(through_loader(ds))) == len(ds)
        assert 0.5 * size < counted["local"].value - before <= 1.1 * size


@pytest.mark.filterwarnings("ignore:This DataLoader will create")
def test_s3_pack_streams_once_per_epoch_equal_to_the_json_dataset(pack, data_root, legacy_tok, s3, counted):
    url = upload(pack, s3)
    reference = LlavaNextDataset(data_root / "mix.json", data_root, legacy_tok)
    in_order = ShardDataset(url, legacy_tok, shuffle=False, world_size=1, rank=0)
    packed = [i for s in read_manifest(pack).shards for i in s.indices()]
    got = list(in_order)
    assert len(got) == len(packed) == read_manifest(pack).packed
    for sample, i in zip(got, packed, strict=True):
        assert_same(sample, reference[i])
    counted["remote"].value = 0
    streamed = ShardDataset(url, legacy_tok, batch_size=2, world_size=1, rank=0)
    assert len(flat(through_loader(streamed))) == len(streamed)
    assert 0.5 * read_manifest(pack).bytes < counted["remote"].value <= 1.1 * read_manifest(pack).bytes


@pytest.mark.filterwarnings("ignore:This DataLoader will create")
@pytest.mark.parametrize("steps", [1, 3])
def test_s3_resume_through_workers_is_exact(pack, legacy_tok, s3, steps):
    url = upload(pack, s3)
    ds = ShardDataset(url, legacy_tok, batch_size=2, seed=5, world_size=1, rank=0, num_workers=WORKERS)
    ds.set_epoch(2)
    batches = through_loader(ds)
    full = flat(batches)
    consumed = sum(len(b) for b in batches[:steps])
    resumed = ShardDataset(url, legacy_tok, batch_size=2, world_size=1, rank=0)
    resumed.load_state_dict(ds.state_dict(consumed))
    assert full[:consumed] + flat(through_loader(resumed)) == full
    # the stream's order depends on the number of workers: resuming with another number is refused
    resumed.load_state_dict(ds.state_dict(consumed))
    with pytest.raises(ConfigError, match=r"the resume state says 4 DataLoader workers, the DataLoader has 2"):
        through_loader(resumed, workers=2)


@pytest.mark.filterwarnings("ignore:This DataLoader will create")
def test_cache_folder_serves_the_second_epoch_without_remote_reads(pack, legacy_tok, s3, counted, tmp_path):
    url = upload(pack, s3)
    ds = ShardDataset(url, legacy_tok, batch_size=2, world_size=1, rank=0, cache_dir=tmp_path / "cache")
    first = flat(through_loader(ds))
    assert 0 < counted["remote"].value <= 1.1 * read_manifest(pack).bytes
    assert len(list((tmp_path / "cache").iterdir())) == len(read_manifest(pack).shards)
    counted["remote"].value = 0
    ds.set_epoch(1)
    second = flat(through_loader(ds))
    assert counted["remote"].value == 0 and counted["local"].value > 0
    assert sorted(second) == sorted(first)


def test_ranks_come_from_the_environment(pack, legacy_tok, monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    ds = ShardDataset(pack, legacy_tok, seed=4)
    assert (ds.world_size, ds.rank) == (2, 1)
    assert ds.rank_shards() == ShardDataset(pack, legacy_tok, seed=4, world_size=2, rank=1).rank_shards()
    monkeypatch.setenv("RANK", "one")
    with pytest.raises(ConfigError, match=r"RANK='one' are not integers; launch with torchrun"):
        ShardDataset(pack, legacy_tok)
