"""Building the index: counts, identical output with worker processes, malformed input, the CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from llavamix.cli import cli
from llavamix.foundation.errors import MixFormatError
from llavamix.foundation.formats.index import open_index
from llavamix.index import IndexOptions, build_index
from tests.mixdata import records, write_mix

pytest.importorskip("pyarrow")


def test_report_counts(mix: Path, tmp_path: Path) -> None:
    report = build_index(mix, tmp_path / "mix.idx")
    with_image = sum("image" in r for r in records())
    assert (report.records, report.images, report.text_only) == (len(records()), with_image, 2)
    assert report.bytes == (tmp_path / "mix.idx").stat().st_size
    assert not (tmp_path / "mix.idx.part").exists()


def test_worker_processes_write_the_same_index(mix: Path, tmp_path: Path) -> None:
    build_index(mix, tmp_path / "one.idx", IndexOptions(batch_records=2))
    build_index(mix, tmp_path / "two.idx", IndexOptions(batch_records=2, jobs=2))
    assert (tmp_path / "one.idx").read_bytes() == (tmp_path / "two.idx").read_bytes()


@pytest.mark.parametrize(
    ("bad", "why"),
    [
        ([1, 2], "Expected `object`"),
        ({"id": 1}, "conversations"),
        ({"conversations": [{"from": "human", "value": 3}]}, "Expected `str`"),
        ({"conversations": "hello"}, "Expected `array`"),
    ],
)
def test_malformed_record_is_named(tmp_path: Path, bad: object, why: str) -> None:
    mix = write_mix(tmp_path / "m.json", [*records(), bad])
    with pytest.raises(MixFormatError, match=rf"record {len(records())} cannot be indexed \(.*{why}"):
        build_index(mix, tmp_path / "m.idx", IndexOptions(batch_records=3))
    assert not (tmp_path / "m.idx").exists()
    assert not (tmp_path / "m.idx.part").exists()


def test_malformed_json(tmp_path: Path) -> None:
    (tmp_path / "m.json").write_text('[{"id": 1 "conversations": []}]')
    with pytest.raises(MixFormatError, match="malformed JSON"):
        build_index(tmp_path / "m.json", tmp_path / "m.idx")


def test_cli_index(mix: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["index", str(mix), "--out", str(tmp_path / "mix.idx"), "--jobs", "1"])
    assert result.exit_code == 0, result.output
    assert f"{len(records())} records" in result.output
    with open_index(tmp_path / "mix.idx") as ix:
        assert [ix.value(i) for i in range(len(ix))] == records()


def test_cli_index_malformed_exits_1(tmp_path: Path) -> None:
    mix = write_mix(tmp_path / "m.json", [{"id": 1}])
    result = CliRunner().invoke(cli, ["index", str(mix), "--out", str(tmp_path / "m.idx")])
    assert result.exit_code == 1
    assert "record 0 cannot be indexed" in result.output


def test_id_columns_keep_each_id_by_its_json_type(tmp_path: Path) -> None:
    """The index file's own columns, read with pyarrow and built by a real ``llavamix index`` process: a JSON
    integer lands in id_int, a JSON string in id_str (digits included), anything else in neither."""
    pa_ipc = pytest.importorskip("pyarrow.ipc")
    conv = [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]
    ids = [7, "7", "000123", -5, 2**63 - 1, 2**63, True, 1.0, None, "gqa_1", [1]]
    recs = [{"id": value, "conversations": conv} for value in ids] + [{"conversations": conv}]
    mix = tmp_path / "ids.json"
    mix.write_text(json.dumps(recs))
    args = [sys.executable, "-m", "llavamix", "index", str(mix), "--out", str(tmp_path / "ids.idx")]
    subprocess.run(args, check=True, capture_output=True, timeout=120)
    with pa_ipc.open_file(str(tmp_path / "ids.idx")) as reader:
        table = reader.read_all()
    assert str(table.schema.field("id_int").type) == "int64" and str(table.schema.field("id_str").type) == "string"
    assert table.column("id_int").to_pylist() == [7, None, None, -5, 2**63 - 1] + [None] * 7
    assert table.column("id_str").to_pylist() == [None, "7", "000123", None, None, None, None, None, None, "gqa_1",
                                                  None, None]  # fmt: skip
    # the raw bytes keep every id, whatever its column
    assert [json.loads(raw).get("id") for raw in table.column("raw").to_pylist()] == [*ids, None]
