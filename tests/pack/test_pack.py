"""Packing: WebDataset and Parquet shards read back by their own ecosystems equal the mix and its images."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from llavamix.foundation.errors import ConfigError, PackError
from llavamix.foundation.formats.pack import iter_shard, read_manifest, shard_paths
from llavamix.foundation.formats.webdataset import sample_key
from llavamix.pack import PackOptions, ShardSize, pack_mix
from tests.mixdata import IMAGES, records, write_mix

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")


def _options(fmt: str = "webdataset", size: str = "3", **kw: object) -> PackOptions:
    return PackOptions(format=fmt, shard_size=ShardSize.parse(size), **kw)  # type: ignore[arg-type]


def test_webdataset_reads_the_shards_back(mix: Path, root: Path, tmp_path: Path) -> None:
    wds = pytest.importorskip("webdataset")
    report = pack_mix(mix, root, tmp_path / "out", _options())
    assert [s.name for s in report.shards] == ["mix-000000.tar", "mix-000001.tar", "mix-000002.tar"]
    urls = [str(p) for p in shard_paths(tmp_path / "out")]
    samples = list(wds.WebDataset(urls, shardshuffle=False))
    assert [s["__key__"] for s in samples] == [sample_key(i) for i in range(len(records()))]
    for sample, rec in zip(samples, records(), strict=True):
        assert json.loads(sample["json"]) == rec
        image_keys = sorted(k for k in sample if not k.startswith("__") and k != "json")
        if "image" in rec:
            [ext] = image_keys
            assert sample[ext] == IMAGES[rec["image"]]
        else:
            assert image_keys == []
    assert [k for s in samples for k in s if k not in ("__key__", "__url__", "__local_path__", "json")] == [
        "jpg", "jpg", "png", "jpeg", "jpg", "img"]  # fmt: skip


def test_tar_members_are_deterministic(mix: Path, root: Path, tmp_path: Path) -> None:
    pack_mix(mix, root, tmp_path / "a", _options(size="100"))
    pack_mix(mix, root, tmp_path / "b", _options(size="100"))
    assert (tmp_path / "a/mix-000000.tar").read_bytes() == (tmp_path / "b/mix-000000.tar").read_bytes()
    with tarfile.open(tmp_path / "a/mix-000000.tar") as tar:
        members = tar.getmembers()
    assert [m.name for m in members][:3] == ["000000000.jpg", "000000000.json", "000000001.jpg"]
    assert {(m.mtime, m.uid, m.gid, m.mode, m.uname) for m in members} == {(0, 0, 0, 0o644, "")}


def test_exact_json_bytes_in_tar(tmp_path: Path, root: Path) -> None:
    record = '{"id":1,  "conversations":[{"from":"human","value":"x"},{"from":"gpt" ,"value":"y"}] , "z": 1.50}'
    (tmp_path / "m.json").write_text(f"[{record}]")
    pack_mix(tmp_path / "m.json", root, tmp_path / "out", _options())
    [sample] = iter_shard(tmp_path / "out/m-000000.tar")
    assert sample.raw == record.encode()


def test_parquet_reads_back_with_pyarrow(mix: Path, root: Path, tmp_path: Path) -> None:
    pack_mix(mix, root, tmp_path / "out", _options("parquet"))
    table = pa.concat_tables([pq.read_table(p) for p in shard_paths(tmp_path / "out")])
    rows = table.to_pylist()
    assert table.column_names == ["index", "id", "id_is_int", "image", "conversations", "data_source", "record"]
    for i, (row, rec) in enumerate(zip(rows, records(), strict=True)):
        assert row["index"] == i
        assert json.loads(row["record"]) == rec
        assert row["conversations"] == rec["conversations"]
        rid = rec.get("id")
        assert (row["id"], row["id_is_int"]) == (None if rid is None else str(rid), type(rid) is int)
        if "image" in rec:
            assert row["image"] == {"bytes": IMAGES[rec["image"]], "path": rec["image"]}
        else:
            assert row["image"] is None and row["data_source"] is None
    assert [r["data_source"] for r in rows[:2]] == ["coco", "gqa"]
    assert rows[3]["data_source"] == "vqa_collection"


def test_parquet_loads_with_datasets(mix: Path, root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    datasets = pytest.importorskip("datasets")
    pack_mix(mix, root, tmp_path / "out", _options("parquet"))
    files = [str(p) for p in shard_paths(tmp_path / "out")]
    ds = datasets.load_dataset("parquet", data_files=files, split="train", cache_dir=str(tmp_path / "cache"))
    assert len(ds) == len(records())
    assert isinstance(ds.features["image"], datasets.Image)
    first = ds[0]
    assert first["image"].size == (40, 30)
    assert first["conversations"] == records()[0]["conversations"]
    assert ds[2]["image"] is None


@pytest.mark.parametrize("fmt", ["webdataset", "parquet"])
def test_iter_shard_round_trip(fmt: str, mix: Path, root: Path, tmp_path: Path) -> None:
    pack_mix(mix, root, tmp_path / "out", _options(fmt))
    samples = [s for p in shard_paths(tmp_path / "out") for s in iter_shard(p)]
    assert [s.index for s in samples] == list(range(len(records())))
    for sample, rec in zip(samples, records(), strict=True):
        assert json.loads(sample.raw) == rec
        assert sample.image == (IMAGES[rec["image"]] if "image" in rec else None)


def test_manifest_written_last_lists_shards(mix: Path, root: Path, tmp_path: Path) -> None:
    report = pack_mix(mix, root, tmp_path / "out", _options())
    manifest = read_manifest(tmp_path / "out")
    assert report.manifest == tmp_path / "out/mix.manifest.json"
    assert [(s.start, s.stop, s.records) for s in manifest.shards] == [(0, 3, 3), (3, 6, 3), (6, 8, 2)]
    assert [s.bytes for s in manifest.shards] == [(tmp_path / "out" / s.name).stat().st_size for s in manifest.shards]
    assert (manifest.records, manifest.packed, manifest.images) == (8, 8, 6)


def test_byte_sized_shards_stay_under_the_limit(mix: Path, root: Path, tmp_path: Path) -> None:
    report = pack_mix(mix, root, tmp_path / "out", _options(size="3KB"))
    assert len(report.shards) > 2
    # a shard over the limit holds a single record that is bigger than the limit by itself
    assert all(s.bytes <= 3000 + 1024 or s.records == 1 for s in report.shards)
    assert sum(s.records for s in report.shards) == len(records())


def test_resume_rewrites_only_the_missing_shard(mix: Path, root: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    pack_mix(mix, root, out, _options())
    manifest = (out / "mix.manifest.json").read_bytes()
    missing = (out / "mix-000001.tar").read_bytes()
    kept = {name: ((out / name).stat().st_ino, (out / name).stat().st_mtime_ns)
            for name in ("mix-000000.tar", "mix-000002.tar")}  # fmt: skip
    (out / "mix.manifest.json").unlink()
    (out / "mix-000001.tar").unlink()
    again = pack_mix(mix, root, out, _options())
    assert again.written == ["mix-000001.tar"]
    assert again.reused == ["mix-000000.tar", "mix-000002.tar"]
    # the others were not written again (a rewrite goes through a rename: new inode), the missing one was, equal
    assert {name: ((out / name).stat().st_ino, (out / name).stat().st_mtime_ns) for name in kept} == kept
    assert (out / "mix-000001.tar").read_bytes() == missing
    assert again.manifest is not None and again.manifest.read_bytes() == manifest


def test_changed_plan_rewrites_stale_shards(mix: Path, root: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    pack_mix(mix, root, out, _options(size="2"))
    report = pack_mix(mix, root, out, _options(size="4"))
    assert report.written == ["mix-000000.tar", "mix-000001.tar"]
    assert sorted(p.name for p in out.glob("*.tar")) == ["mix-000000.tar", "mix-000001.tar"]
    assert [s.index for p in shard_paths(out) for s in iter_shard(p)] == list(range(len(records())))


def test_missing_image_fails_before_writing(mix: Path, root: Path, tmp_path: Path) -> None:
    (root / "gqa/images/2327515.jpg").unlink()
    with pytest.raises(PackError, match=r"record 1 \(id 2327515\): missing gqa/images/2327515.jpg.*--write-clean"):
        pack_mix(mix, root, tmp_path / "out", _options())
    assert not list((tmp_path / "out").glob("*")) if (tmp_path / "out").exists() else True


def test_skip_leaves_bad_records_out(root: Path, tmp_path: Path) -> None:
    conv = records()[0]["conversations"]
    recs = [*records(), {"id": "n", "image": None, "conversations": []}, {"id": "gone", "image": "coco/x.jpg",
            "conversations": conv}]  # fmt: skip
    mix = write_mix(tmp_path / "m.json", recs)
    report = pack_mix(mix, root, tmp_path / "out", _options(size="4", on_error="skip"))
    assert [(p.index, p.code) for p in report.problems] == [(8, "image_null"), (9, "missing")]
    assert report.shards[-1].skipped == [8, 9] and report.packed == 8
    assert [s.index for p in shard_paths(tmp_path / "out") for s in iter_shard(p)] == list(range(8))
    assert len(read_manifest(tmp_path / "out").skipped) == 2


@pytest.mark.parametrize(
    ("text", "limit", "unit"),
    [("1GB", 10**9, "bytes"), ("500MB", 500 * 10**6, "bytes"), ("2GiB", 2 * 2**30, "bytes"),
     ("1.5kb", 1500, "bytes"), ("10000", 10000, "records")],
)  # fmt: skip
def test_shard_size_parse(text: str, limit: int, unit: str) -> None:
    assert ShardSize.parse(text) == ShardSize(limit, unit)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["", "1XB", "-5", "0", "1.5", "GB"])
def test_shard_size_rejects(text: str) -> None:
    with pytest.raises(ConfigError, match="shard size"):
        ShardSize.parse(text)


def test_bad_options() -> None:
    with pytest.raises(ConfigError, match="format"):
        PackOptions(format="zip")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="name"):
        PackOptions(name="a/b")
