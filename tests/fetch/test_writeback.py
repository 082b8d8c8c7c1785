"""A download hands its bytes to the disk while it runs, so the fsync before its rename has little left to write."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from llavamix.fetch.part import FLUSH_EVERY, PartFile, SpreadPart
from llavamix.fetch.segments import SegmentMap


@pytest.fixture
def advised(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int]]:
    """The (offset, length) ranges handed to the disk early, in order."""
    if not hasattr(os, "posix_fadvise"):
        pytest.skip("no posix_fadvise on this system")
    calls: list[tuple[int, int]] = []
    real = os.posix_fadvise

    def record(fd: int, offset: int, length: int, advice: int) -> None:
        if advice == os.POSIX_FADV_DONTNEED:
            calls.append((offset, length))
        real(fd, offset, length, advice)

    monkeypatch.setattr(os, "posix_fadvise", record)
    return calls


def covered(ranges: list[tuple[int, int]]) -> int:
    """How far the ranges reach from 0, checking they follow each other without a gap or overlap."""
    end = 0
    for offset, length in ranges:
        assert offset == end, ranges
        end += length
    return end


CHUNK = 1 << 20


def test_an_appended_part_is_handed_to_the_disk_as_it_grows(tmp_path: Path, advised) -> None:
    part = PartFile(tmp_path / "big.zip", None)
    for _ in range(3 * FLUSH_EVERY // CHUNK + 3):
        part.write(b"x" * CHUNK)
    assert covered(advised) == 3 * FLUSH_EVERY
    part.commit()
    assert (tmp_path / "big.zip").stat().st_size == 3 * FLUSH_EVERY + 3 * CHUNK


def test_a_resumed_part_goes_on_from_its_size(tmp_path: Path, advised) -> None:
    (tmp_path / "big.zip.part").write_bytes(b"y" * CHUNK)
    part = PartFile(tmp_path / "big.zip", None)
    for _ in range(FLUSH_EVERY // CHUNK):
        part.write(b"x" * CHUNK)
    part.close()
    assert advised == [(CHUNK, FLUSH_EVERY)]


def test_an_unhashed_spread_part_hands_its_contiguous_start_to_the_disk(tmp_path: Path, advised) -> None:
    total = 2 * FLUSH_EVERY + CHUNK
    part = SpreadPart(tmp_path / "big.zip", None, SegmentMap.fresh(total, '"v1"', 0))
    part.write_at(FLUSH_EVERY, b"b" * (FLUSH_EVERY + CHUNK))  # the second half first: nothing contiguous yet
    part.reached(0)
    assert advised == []
    part.write_at(0, b"a" * FLUSH_EVERY)
    part.reached(total)
    assert covered(advised) == total
    part.discard()
