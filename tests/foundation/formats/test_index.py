"""Reading an index: every record, id type, image key and length comes back as the mix JSON has it."""

from __future__ import annotations

import json
import multiprocessing
import pickle
from pathlib import Path

import msgspec
import pytest

from llavamix.foundation.errors import ConfigError
from llavamix.foundation.formats.index import IndexColumns, open_index, open_writer
from llavamix.foundation.records import decode_record
from llavamix.index import IndexOptions, build_index
from tests.mixdata import records, reference_lengths, write_mix

pytest.importorskip("pyarrow")


@pytest.fixture
def index(tmp_path: Path) -> Path:
    mix = write_mix(tmp_path / "mix.json")
    # tiny batches so records span several record batches
    build_index(mix, tmp_path / "mix.idx", IndexOptions(batch_records=3))
    return tmp_path / "mix.idx"


def test_records_round_trip(index: Path) -> None:
    expected = records()
    with open_index(index) as ix:
        assert len(ix) == len(expected)
        for i, rec in enumerate(expected):
            assert ix.value(i) == rec
            assert json.loads(ix.raw(i)) == rec
            assert ix.record(i) == decode_record(json.dumps(rec).encode())


def test_ids_keep_their_json_type(index: Path) -> None:
    with open_index(index) as ix:
        ids = [ix.id(i) for i in range(len(ix))]
    assert ids == [r.get("id") for r in records()]
    assert [type(i) for i in ids] == [type(r.get("id")) for r in records()]


def test_absent_and_null_image_stay_apart(tmp_path: Path) -> None:
    recs = [{"id": 1, "image": None, "conversations": [{"from": "human", "value": "a"}]},
            {"id": 2, "conversations": [{"from": "human", "value": "a"}]}]  # fmt: skip
    build_index(write_mix(tmp_path / "m.json", recs), tmp_path / "m.idx")
    with open_index(tmp_path / "m.idx") as ix:
        assert [ix.has_image(0), ix.has_image(1)] == [True, False]
        assert [ix.image(0), ix.image(1)] == [None, None]
        assert "image" in ix.value(0) and "image" not in ix.value(1)
        assert ix.lengths.tolist() == [129, 1]  # training counts a null image as an image


def test_lengths_equal_a_direct_computation(index: Path) -> None:
    expected = [reference_lengths(r) for r in records()]
    with open_index(index) as ix:
        assert ix.lengths.tolist() == [length for length, _ in expected]
        assert ix.modality_lengths.tolist() == [modality for _, modality in expected]
        assert str(ix.lengths.dtype) == "int32"
        assert ix.images == [r.get("image") for r in records()]


def test_negative_and_out_of_range_indices(index: Path) -> None:
    with open_index(index) as ix:
        assert ix.value(-1) == records()[-1]
        with pytest.raises(IndexError, match=rf"record {len(ix)} out of range for an index of {len(ix)} records"):
            ix.raw(len(ix))


def test_pickles_by_path(index: Path) -> None:
    with open_index(index) as ix:
        copy = pickle.loads(pickle.dumps(ix))
        assert [copy.value(i) for i in range(len(copy))] == records()


def _read_all(path: str) -> list[object]:
    ix = _FORKED[path]
    return [ix.value(i) for i in range(len(ix))]


_FORKED: dict[str, object] = {}


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
def test_forked_workers_read_the_inherited_index(index: Path) -> None:
    ix = open_index(index)
    _FORKED[str(index)] = ix
    try:
        with multiprocessing.get_context("fork").Pool(2) as pool:
            results = pool.map(_read_all, [str(index)] * 2)
    finally:
        _FORKED.clear()
        ix.close()
    assert results == [records(), records()]


def test_empty_mix(tmp_path: Path) -> None:
    build_index(write_mix(tmp_path / "m.json", []), tmp_path / "m.idx")
    with open_index(tmp_path / "m.idx") as ix:
        assert len(ix) == 0
        assert ix.lengths.tolist() == []


def test_not_an_index(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        open_index(tmp_path / "missing.idx")
    (tmp_path / "x.idx").write_bytes(b"[1, 2, 3]")
    with pytest.raises(ConfigError, match="not a llavamix index"):
        open_index(tmp_path / "x.idx")


def test_the_writer_fills_every_column_by_name(tmp_path: Path) -> None:
    """The format's own writer, without the index stage: each derived column lands under its own name."""
    turns = [{"from": "human", "value": "<image>\nhi there"}, {"from": "gpt", "value": "yes"}]
    recs = [{"id": 5, "conversations": turns}, {"id": "x", "image": None, "conversations": turns},
            {"image": "a/b.jpg", "conversations": turns[1:]}]  # fmt: skip
    raws = [json.dumps(r).encode() for r in recs]
    columns = IndexColumns()
    for rec in recs:
        columns.add([t["value"] for t in rec["conversations"]], rec.get("id"), rec.get("image", msgspec.UNSET))
    with open_writer(tmp_path / "m.idx", {"source": "m.json"}) as writer:
        writer.write(raws, columns)
    assert not (tmp_path / "m.idx.part").exists()
    with open_index(tmp_path / "m.idx") as ix:
        assert [ix.raw(i) for i in range(len(ix))] == raws
        assert [ix.id(i) for i in range(3)] == [5, "x", None]
        assert [ix.has_image(i) for i in range(3)] == [False, True, True]
        assert ix.images == [None, None, "a/b.jpg"]
        assert ix.sampler_lengths() == ([4, 4 + 128, 1 + 128], [-4, 4, 1])
        assert ix.meta["source"] == "m.json" and ix.meta["format"] == "llavamix-index"
