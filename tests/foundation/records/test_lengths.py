"""The sampler's length formula: words as ``str.split()`` counts them, +128 with an image, negated text-only."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from llavamix.foundation.records import MixFile, record_lengths
from llavamix.foundation.records.lengths import count_words, sample_lengths
from tests.mixdata import records, reference_lengths, write_mix

WHITESPACE = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2003\u2028\u2029\u202f\u205f\u3000"


@given(st.lists(st.text(alphabet=st.sampled_from([*WHITESPACE, "a", "b", "é", "<", "日"]), max_size=40), max_size=5))
def test_count_words_equals_str_split(values: list[str]) -> None:
    assert count_words(values) == sum(len(v.split()) for v in values)


def test_sample_lengths_follow_the_reference() -> None:
    assert sample_lengths(["<image>\nhi there", "yes"], True) == (4 + 128, 4)
    assert sample_lengths(["hi there", "yes"], False) == (3, -3)


def test_a_mix_file_measures_every_record_like_the_reference(tmp_path) -> None:
    mix = MixFile(write_mix(tmp_path / "mix.json"))
    expected = [reference_lengths(r) for r in records()]
    assert mix.sampler_lengths() == ([n for n, _ in expected], [m for _, m in expected])
    assert [record_lengths(mix.record(i)) for i in range(len(mix))] == expected
