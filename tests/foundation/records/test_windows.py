"""Streaming a mix in windows yields exactly the records the whole-file parser sees."""

from __future__ import annotations

import json
import re
from pathlib import Path

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llavamix.foundation.errors import MixFormatError
from llavamix.foundation.records import MixFile, iter_windows, plan_spans, read_span, read_window

texts = st.text(alphabet='ab]},{"\\ \n', max_size=12)
records = st.lists(
    st.one_of(
        st.fixed_dictionaries(
            {
                "id": st.integers(),
                "conversations": st.lists(
                    st.fixed_dictionaries({"from": st.just("human"), "value": texts}), max_size=3
                ),
            },
            optional={"model": texts},
        ),
        st.lists(texts, max_size=2),
        texts,
        st.integers(),
    ),
    max_size=40,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(recs=records, indent=st.sampled_from([None, 1]), window=st.integers(8, 400))
def test_windows_match_the_whole_file(tmp_path: Path, recs: list, indent: int | None, window: int) -> None:
    path = tmp_path / "mix.json"
    path.write_text(json.dumps(recs, indent=indent))
    whole = [bytes(r) for r in MixFile(path).raws]
    seen: list[bytes] = []
    for w in iter_windows(path, window):
        assert w.first == len(seen)
        raws = [bytes(r) for r in w.raws]
        if w.start >= 0:
            assert [bytes(r) for r in read_window(path, w.start, w.end)] == raws
        seen += raws
    assert seen == whole


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('[{"a": 1}, {"b": }]', r": malformed JSON at byte 17: .*near: '\[\{\"a\": 1\}, \{\"b\": \}\]'"),
        ('[{"a": 1}', r": not a JSON array of records \(Input data was truncated\)"),
        ('{"a": 1}', r": not a JSON array of records \(Expected `array`, got `object`\)"),
        ("", r" is empty \(0 bytes\)"),
        ("[1,,2]", r": malformed JSON at byte 3: "),
    ],
)
def test_malformed_json_is_a_mix_format_error(tmp_path: Path, text: str, says: str) -> None:
    (tmp_path / "bad.json").write_text(text)
    with pytest.raises(MixFormatError, match=re.escape(str(tmp_path / "bad.json")) + says):
        list(iter_windows(tmp_path / "bad.json", 4))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(recs=records, indent=st.sampled_from([None, 1]), span=st.integers(1, 300))
def test_spans_match_the_whole_file_or_fail(tmp_path: Path, recs: list, indent: int | None, span: int) -> None:
    path = tmp_path / "mix.json"
    path.write_text(json.dumps(recs, indent=indent))
    try:
        seen = [bytes(r) for lo, hi in plan_spans(path, span) for r in read_span(path, lo, hi)]
    except msgspec.DecodeError:
        return  # a span end fell inside a string: callers fall back to iter_windows
    assert seen == [bytes(r) for r in MixFile(path).raws]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ('[{"a": 1}, {"b": }]', r"invalid character \(byte 8\)"),
        ('[{"a": 1}', "the array is not closed"),
        ('{"a": 1}', "not a JSON array"),
        ("", "not a JSON array"),
        ("[1, 23", "the array is not closed"),
        ('[{"a":1}]]', r"trailing characters \(byte 10\)"),
    ],
)
def test_spans_of_malformed_json_fail(tmp_path: Path, text: str, says: str) -> None:
    (tmp_path / "bad.json").write_text(text)
    with pytest.raises(msgspec.DecodeError, match=says):
        for lo, hi in plan_spans(tmp_path / "bad.json", 3):
            read_span(tmp_path / "bad.json", lo, hi)
