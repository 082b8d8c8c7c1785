"""Recipe errors: each a clear message naming the key and the value, raised before any output exists."""

from __future__ import annotations

from pathlib import Path

import pytest

from llavamix.foundation.errors import ConfigError
from tests.mix.builds import build, record, write_json

INPUT = '[[input]]\nname = "a"\npath = "a.json"\nroot = "data"\n'


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    recs = [record(i, f"coco/train2017/{i}.jpg" if i % 2 else None, f"question {i}") for i in range(10)]
    write_json(tmp_path / "a.json", recs)
    return tmp_path


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("colour = 1\n" + INPUT, r"unknown field `colour`.*allowed keys: seed, root"),
        (INPUT + "colour = 1\n", r"unknown field `colour` - at `\$.input\[0\]`.*allowed keys: name, path"),
        (
            INPUT + '[[select]]\naction = "cap"\ncount = 1\nimage_prefx = "x"\n',
            r"unknown field `image_prefx`.*did you mean 'image_prefix'",
        ),
        (
            INPUT + '[[select]]\naction = "keep"\ninput = "b"\n',
            r"input 'b' is not an \[\[input\]\] name; use one of: a",
        ),
        (INPUT + '[[select]]\naction = "cap"\n', r"cap needs count = N"),
        (INPUT + '[[select]]\naction = "weight"\ncount = 1\nfraction = 0.5\n', r"weight needs either count"),
        (
            INPUT + '[[select]]\naction = "shuffle"\n',
            r"Invalid enum value 'shuffle'.*\(allowed: keep, drop, cap, weight\)",
        ),
        (INPUT + '[[select]]\naction = "keep"\nid_pattern = "("\n', r"id_pattern '\(' is not a regular expression"),
        (INPUT + '[[select]]\naction = "keep"\nsource = "cocoa"\n', r"select source 'cocoa' names no catalog source"),
        (INPUT + "[filter]\nmin_length = 10\nmax_length = 5\n", r"min_length 10 is above max_length 5"),
        (
            INPUT + '[dedup]\nby = ["pixels"]\n',
            r"Invalid enum value 'pixels'.*\(allowed: id, text, image_bytes, phash\)",
        ),
        (INPUT + INPUT, r"input name 'a' is used twice"),
        ('[[input]]\nname = "a"\npath = "nothere.json"\n', r"path 'nothere.json' is not a file"),
        (INPUT.replace('root = "data"', 'image_prefix = "/abs/"'), r"image_prefix '/abs/' is an absolute path"),
        ("seed = 1\n", r"no \[\[input\]\]"),
        (
            INPUT + '[[select]]\naction = "drop"\nimage_prefix = "gqa/"\n',
            r"select #1 drop image_prefix='gqa/': matches no record",
        ),
        (
            INPUT + '[[select]]\naction = "weight"\ncount = 9\nrepeat = false\ntext_only = true\n',
            r"weight asks for 9 records but only 5 are left and repeat = false",
        ),
        (
            INPUT + '[[select]]\naction = "weight"\nfraction = 0.01\n',
            r"weight fraction 0.01 of 10 records is 0 records",
        ),
        (
            INPUT + '[[select]]\naction = "weight"\ncount = 3\ntext_only = true\n[filter]\nhas_image = true\n',
            r"weight asks for 3 records but none is left after the filter and dedup",
        ),
    ],
)
def test_recipe_errors_are_clear_and_leave_no_output(folder: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build(folder, text)
    assert not (folder / "out").exists()


def test_a_stale_verify_report_is_refused(folder: Path) -> None:
    write_json(folder / "v.json", {"records": 3, "problems": []})  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"counts 3 records but input 'a' has 10; it was made for another file"):
        build(folder, INPUT + '[filter]\nverify_report = "v.json"\n')
    assert not (folder / "out").exists()


def test_one_filter_report_for_several_inputs_is_refused(folder: Path) -> None:
    write_json(folder / "v.json", {"records": 10, "problems": []})  # type: ignore[arg-type]
    two = INPUT + INPUT.replace('name = "a"', 'name = "b"')
    with pytest.raises(ConfigError, match=r"set verify_report on each \[\[input\]\] instead"):
        build(folder, two + '[filter]\nverify_report = "v.json"\n')
