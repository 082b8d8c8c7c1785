"""Shard formats on their own: what a writer is given, its reader gives back; the Parquet columns are the schema's."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from llavamix.foundation.errors import ConfigError
from llavamix.foundation.formats import pack, parquet, webdataset
from llavamix.foundation.formats.samples import Sample, ShardSample
from llavamix.foundation.records import decode_record

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

TURNS = '[{"from": "human", "value": "<image>\\nWhat?"}, {"from": "gpt", "value": "A cat."}]'


def _sample(index: int, rid: str, image: str | None = None, data: bytes | None = None) -> Sample:
    image_key = "" if image is None else f', "image": "{image}"'
    raw = f'{{"id": {rid}, "conversations": {TURNS}{image_key}}}'.encode()
    return Sample(index, raw, decode_record(raw), image, data, None if image is None else "coco")


SAMPLES = [
    _sample(0, '"a"', "coco/x.JPG", b"\xff\xd8jpeg"),
    _sample(3, "7"),
    _sample(4, "null", "coco/y.json", b"not json"),
    _sample(12, '"b"', "coco/noext", b"\x89PNG"),
]
EXPECTED = [
    ShardSample(0, SAMPLES[0].raw, b"\xff\xd8jpeg", "jpg"),
    ShardSample(3, SAMPLES[1].raw),
    ShardSample(4, SAMPLES[2].raw, b"not json", "img"),
    ShardSample(12, SAMPLES[3].raw, b"\x89PNG", "img"),
]


@pytest.mark.parametrize("fmt", pack.FORMATS)
def test_what_is_written_reads_back(fmt: pack.Format, tmp_path: Path) -> None:
    path = tmp_path / pack.shard_name("m", 3, fmt)
    size = pack.write_shard(fmt, iter(SAMPLES), path)
    assert size == path.stat().st_size and not list(tmp_path.glob("*.part"))
    assert list(pack.iter_shard(path)) == EXPECTED


@pytest.mark.parametrize("fmt", pack.FORMATS)
def test_an_empty_shard_is_a_valid_file(fmt: pack.Format, tmp_path: Path) -> None:
    path = tmp_path / pack.shard_name("m", 0, fmt)
    pack.write_shard(fmt, [], path)
    assert list(pack.iter_shard(path)) == []


def test_tar_members_are_key_dot_extension_in_order(tmp_path: Path) -> None:
    webdataset.write_shard(SAMPLES, tmp_path / "m.tar")
    with tarfile.open(tmp_path / "m.tar") as tar:
        names = tar.getnames()
        assert {(m.mtime, m.uid, m.mode) for m in tar.getmembers()} == {(0, 0, 0o644)}
    assert names == ["000000000.jpg", "000000000.json", "000000003.json", "000000004.img", "000000004.json",
                     "000000012.img", "000000012.json"]  # fmt: skip


def test_parquet_columns_compression_and_features_come_from_the_schema(tmp_path: Path) -> None:
    parquet.write_shard(SAMPLES, tmp_path / "m.parquet")
    file = pq.ParquetFile(tmp_path / "m.parquet")
    schema = parquet.parquet_schema()
    assert file.schema_arrow.names == schema.names == ["index", "id", "id_is_int", "image", "conversations",
                                                       "data_source", "record"]  # fmt: skip
    assert file.schema_arrow.metadata[b"huggingface"] == schema.metadata[b"huggingface"]
    group = file.metadata.row_group(0)
    codecs = {group.column(k).path_in_schema: group.column(k).compression for k in range(group.num_columns)}
    assert codecs.pop("image.bytes") == "UNCOMPRESSED"
    assert set(codecs.values()) == {"ZSTD"} and "conversations.list.element.value" in codecs
    features = json.loads(file.schema_arrow.metadata[b"huggingface"])["info"]["features"]
    assert features["image"] == {"_type": "Image"}
    assert features["index"] == {"_type": "Value", "dtype": "int64"}
    assert features["id_is_int"] == {"_type": "Value", "dtype": "bool"}
    assert features["conversations"] == [{"from": {"_type": "Value", "dtype": "string"},
                                          "value": {"_type": "Value", "dtype": "string"}}]  # fmt: skip
    rows = file.read().to_pylist()
    assert [(r["id"], r["id_is_int"], r["data_source"]) for r in rows] == [
        ("a", False, "coco"), ("7", True, None), (None, False, "coco"), ("b", False, "coco")]  # fmt: skip


def test_a_file_of_another_kind_is_not_a_shard(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"m\.zip: not a shard \(expected \.tar or \.parquet\)"):
        pack.iter_shard(tmp_path / "m.zip")
    with tarfile.open(tmp_path / "x.tar", "w") as tar:
        tar.add(__file__, "000000001.jpg")
    with pytest.raises(ConfigError, match=r"sample '000000001' has no \.json member"):
        list(webdataset.iter_shard(tmp_path / "x.tar"))
