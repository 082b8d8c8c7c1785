"""A mix that is not JSON text: every reader raises the same MixFormatError, naming the byte and what to do,
whatever msgspec release is installed (UnicodeDecodeError before 0.23, DecodeError since)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import msgspec
import pytest

from llavamix.foundation.errors import MixFormatError
from llavamix.foundation.records import MixFile, decode_record, decode_with, iter_images, iter_windows, read_span
from llavamix.foundation.records.malformed import MAX_DEPTH, first_invalid_utf8, nesting_offset

GOOD = {"id": 1, "image": "coco/a.jpg", "conversations": [{"from": "human", "value": "<image>\nhi"}]}
GOOD_BYTES = json.dumps(GOOD).encode()
BAD = '{"id": "café", "conversations": [{"from": "human", "value": "é"}]}'.encode("latin-1")


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.fixture
def latin1(tmp_path: Path) -> tuple[Path, int]:
    """Record 2 of a mix with irregular whitespace holds a latin-1 byte; returns the file and that byte's offset."""
    data = b"[ \n" + GOOD_BYTES + b" ,\n\t" + GOOD_BYTES + b",\r\n  " + BAD + b"\n]\n"
    return write(tmp_path / "latin1.json", data), data.index(b"\xe9")


def test_record_not_utf8_names_the_file_offset(latin1: tuple[Path, int]) -> None:
    path, offset = latin1
    mix = MixFile(path)
    assert mix.offset(2) == path.read_bytes().index(BAD)
    expected = rf"{re.escape(str(path))}: record 2 is not valid UTF-8 at byte {offset} .*iconv -f latin1"
    with pytest.raises(MixFormatError, match=expected):
        mix.record(2)
    with pytest.raises(MixFormatError, match=expected):
        mix.value(2)
    with pytest.raises(MixFormatError, match=expected):
        decode_record(mix.raws[2], path, 2)


def test_older_msgspec_unicode_error_gives_the_same_message(latin1: tuple[Path, int]) -> None:
    """json.loads raises UnicodeDecodeError for such bytes, as msgspec did before 0.23: the same error comes out."""
    path, offset = latin1
    raw = MixFile(path).raws[2]
    with pytest.raises(UnicodeDecodeError, match="can't decode byte 0xe9"):
        json.loads(bytes(raw))
    with pytest.raises(MixFormatError, match=rf"record 2 is not valid UTF-8 at byte {offset} "):
        decode_with(lambda b: json.loads(bytes(b)), raw, path, 2)
    with pytest.raises(MixFormatError, match=rf"record 2 is not valid UTF-8 at byte {offset} "):
        decode_with(msgspec.json.decode, raw, path, 2)


def test_record_without_its_file_gives_the_offset_in_the_record() -> None:
    inner = BAD.index(b"\xe9")
    with pytest.raises(MixFormatError, match=rf"^a record is not valid UTF-8 at byte {inner} of the record"):
        decode_record(BAD)


def test_wrong_shape_stays_a_validation_error(tmp_path: Path) -> None:
    path = write(tmp_path / "m.json", b'[{"conversations": "hello"}]')
    with pytest.raises(msgspec.ValidationError, match="Expected `array`, got `str`"):
        MixFile(path).record(0)


def test_image_scan_raises_it_for_an_image_path(tmp_path: Path) -> None:
    bad = '{"image": "coco/café.jpg", "conversations": []}'.encode("latin-1")
    data = b"[" + GOOD_BYTES + b", " + bad + b"]"
    path = write(tmp_path / "m.json", data)
    offset = data.index(b"\xe9")
    with pytest.raises(MixFormatError, match=rf"record 1 is not valid UTF-8 at byte {offset} "):
        list(iter_images(path))


def deep_file(tmp_path: Path, levels: int = 100_000) -> tuple[Path, int]:
    """One good record, then ``levels`` open brackets; returns the file and where level MAX_DEPTH + 1 opens."""
    head = b"[" + GOOD_BYTES + b",\n"
    # the array is level 1, so the deep part's first bracket opens level 2
    return write(tmp_path / "deep.json", head + b"[" * levels), len(head) + MAX_DEPTH - 1


def test_deep_nesting_names_the_offset(tmp_path: Path) -> None:
    path, offset = deep_file(tmp_path)
    expected = rf"{re.escape(str(path))}: JSON nests more than {MAX_DEPTH} levels deep at byte {offset}\b"
    with pytest.raises(MixFormatError, match=expected):
        MixFile(path)
    with pytest.raises(MixFormatError, match=expected):
        list(iter_windows(path))
    with pytest.raises(MixFormatError, match=expected):
        list(iter_windows(path, window=64))  # a window ends before the deep part: later windows meet it


def test_deep_but_closed_nesting_is_reported_too(tmp_path: Path) -> None:
    levels = 5000
    path = write(tmp_path / "closed.json", b"[" + GOOD_BYTES + b"," + b"[" * levels + b"]" * levels + b"]")
    with pytest.raises(MixFormatError, match=rf"more than {MAX_DEPTH} levels deep at byte {len(GOOD_BYTES) + 101}\b"):
        MixFile(path)
    with pytest.raises(msgspec.DecodeError, match="nested too deeply"):
        read_span(path, 0, path.stat().st_size)  # its callers fall back to the windows, which raise the above


def test_nesting_inside_a_record_without_its_file() -> None:
    raw = b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    with pytest.raises(
        MixFormatError, match=rf"^a record: JSON nests more than {MAX_DEPTH} levels deep at byte 105 of"
    ):
        decode_with(json.loads, raw)


def test_nesting_offset_skips_brackets_inside_strings() -> None:
    text = b'[{"v": "[[[[ \\" [[[[", "w": "\\\\"}, ' + b"[" * 3
    assert nesting_offset(text, limit=2) == text.index(b"[", text.index(b"}")) + 1
    assert nesting_offset(text, limit=5) is None


def test_first_invalid_utf8_across_chunk_edges() -> None:
    text = "é".encode() * 20_000_000  # 40 MB of two-byte characters: chunk ends fall inside characters
    assert first_invalid_utf8(text) is None
    assert first_invalid_utf8(text + b"\xff") == len(text)
    assert first_invalid_utf8(b"ab\xc3") == 2
