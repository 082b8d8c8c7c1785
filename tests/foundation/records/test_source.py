"""``MixSource``: the JSON reader and the index give one interface, record for record alike."""

from __future__ import annotations

import json
from pathlib import Path

import msgspec
import pytest

from llavamix.foundation.errors import MixFormatError
from llavamix.foundation.records import MixFile, MixSource, decode_record
from tests.mixdata import records, write_mix


def _sources(tmp_path: Path) -> list[MixSource]:
    pytest.importorskip("pyarrow")
    from llavamix.foundation.formats.index import open_index
    from llavamix.index import build_index

    mix = write_mix(tmp_path / "mix.json")
    return [MixFile(mix), open_index(build_index(mix, tmp_path / "mix.idx").path)]


def test_json_and_index_are_both_mix_sources(tmp_path: Path) -> None:
    json_mix, index = _sources(tmp_path)
    assert isinstance(json_mix, MixSource) and isinstance(index, MixSource)
    assert len(json_mix) == len(index) == len(records())
    for i, rec in enumerate(records()):
        assert json_mix.raw(i) == index.raw(i) and type(json_mix.raw(i)) is bytes
        assert json.loads(json_mix.raw(i)) == rec
        assert json_mix.record(i) == index.record(i) == decode_record(json.dumps(rec).encode())
    assert json_mix.sampler_lengths() == index.sampler_lengths()
    assert json_mix.raw(-1) == index.raw(-1)


def test_json_record_errors_name_the_record_and_the_byte(tmp_path: Path) -> None:
    good = b'{"id": 1, "conversations": [{"from": "human", "value": "q"}]}'
    (tmp_path / "m.json").write_bytes(b"[" + good + b', {"id": "caf\xe9", "conversations": []}, {"id": 3}]')
    mix = MixFile(tmp_path / "m.json")
    assert mix.raw(0) == good
    with pytest.raises(MixFormatError, match=r"record 1 is not valid UTF-8 at byte 75"):
        mix.record(1)
    with pytest.raises(msgspec.ValidationError, match=r"missing required field `conversations`"):
        mix.record(2)
    with pytest.raises(MixFormatError, match=r"record 1 is not valid UTF-8"):
        mix.sampler_lengths()
