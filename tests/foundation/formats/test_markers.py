"""Completion markers: written whole and last; absent, truncated, of another shape or not a file reads as not done."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import msgspec
import pytest

from llavamix.extract import Extracted
from llavamix.foundation.formats.markers import Downloaded, load_marker, read_marker, write_marker


def test_round_trip_is_readable_json(tmp_path: Path) -> None:
    path = tmp_path / "done" / "coco.fetch"
    write_marker(path, Downloaded("train2017.zip", 42, "md5:abc", "downloaded"))
    assert read_marker(path, Downloaded) == Downloaded("train2017.zip", 42, "md5:abc", "downloaded")
    assert msgspec.json.decode(path.read_bytes()) == {"file": "train2017.zip", "size": 42, "digest": "md5:abc",
                                                      "how": "downloaded"}  # fmt: skip
    assert not list(path.parent.glob("*.part"))


def test_markers_of_the_previous_release_read_back(tmp_path: Path) -> None:
    """fetch wrote ``json.dumps(...) + "\\n"``, extract compact msgspec JSON: both are still understood."""
    fetched, extracted = tmp_path / "a.fetch", tmp_path / "a.extract"
    fetched.write_text('{"file": "a.zip", "size": 6, "digest": null, "how": "downloaded"}\n')
    extracted.write_bytes(b'{"source":"a","files":2,"bytes":9,"roots":["a/images"]}')
    assert read_marker(fetched, Downloaded) == Downloaded("a.zip", 6, None, "downloaded")
    assert read_marker(extracted, Extracted) == Extracted("a", 2, 9, ["a/images"])


def test_absent_is_not_done(tmp_path: Path) -> None:
    assert read_marker(tmp_path / "none.fetch", Downloaded) is None
    with pytest.raises(FileNotFoundError, match=r"none\.fetch"):
        load_marker(tmp_path / "none.fetch", Downloaded)


@pytest.mark.parametrize(
    ("text", "why"),
    [('{"file": "a.zip", "size": "many"}', "Expected `int`"), ('{"file": "a.z', "truncated"), ("", "truncated")],
)
def test_unreadable_is_not_done_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, text: str, why: str
) -> None:
    path = tmp_path / "a.fetch"
    path.write_text(text)
    with caplog.at_level(logging.WARNING, logger="llavamix.foundation.formats.markers"):
        assert read_marker(path, Downloaded) is None
    assert f"ignoring unreadable marker {path}" in caplog.text and why in caplog.text


def test_a_fifo_is_not_done_and_never_blocks(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "a.extract"
    os.mkfifo(path)
    with caplog.at_level(logging.WARNING, logger="llavamix.foundation.formats.markers"):
        assert read_marker(path, Extracted) is None
    assert "not a regular file (a FIFO)" in caplog.text
    write_marker(path, Extracted("a", 1, 1))  # the rename replaces it
    assert read_marker(path, Extracted) == Extracted("a", 1, 1)


def test_flush_syncs_before_the_marker_exists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from llavamix.foundation.formats import markers

    path, seen = tmp_path / "a.extract", []
    monkeypatch.setattr(markers, "sync_filesystem", lambda where: seen.append((where, path.exists())))
    write_marker(path, Extracted("a", 1, 1), flush=tmp_path / "root")
    assert seen == [(tmp_path / "root", False)] and path.exists()
