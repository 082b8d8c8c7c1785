"""Streaming a mix JSON in windows of whole records, so a 1.6 GB file is read with tens of MB of memory.

A window ends where a record ends. Candidate ends are found with a regex (``}`` then ``,``) and proven by parsing:
parsing from a true record start is deterministic, so if ``[`` + bytes + ``]`` parses as an array, its last
record really ends there. A candidate inside a string fails to parse and the next one is tried. Windows can be
re-read independently (``read_window``), which is how workers in other processes share one file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from llavamix.records.model import MixFile

WINDOW = 32 << 20  # bytes per window: big enough to amortise per-window work, small against the file
_MAX_TRIES = 64  # candidate ends to try before handing the file to the strict whole-file parser
_CANDIDATE = re.compile(rb"\}\s*,")
_LEADING = re.compile(rb"\s*\[")
_raws = msgspec.json.Decoder(list[msgspec.Raw])


@dataclass
class MixWindow:
    """Records ``first .. first+len(raws)-1`` of a mix; their bytes are ``[start, end)`` of the file."""

    start: int
    end: int
    first: int
    raws: list[msgspec.Raw] = field(repr=False)


def read_window(path: Path | str, start: int, end: int) -> list[msgspec.Raw]:
    """Re-read the records of a window yielded earlier by ``iter_windows``."""
    with open(path, "rb") as fh:
        data = os.pread(fh.fileno(), end - start, start)
    return _raws.decode(b"[" + data + b"]")


def iter_windows(path: Path | str, window: int = WINDOW) -> Iterator[MixWindow]:
    """Yield consecutive windows of whole records; malformed JSON raises MixFormatError (byte offset, snippet)."""
    path = Path(path)
    with open(path, "rb") as fh:
        fd, size = fh.fileno(), os.fstat(fh.fileno()).st_size
        head = _LEADING.match(os.pread(fd, 4096, 0))
        if head is None:
            _strict(path)  # raises with the position of the problem
            return
        start, first = head.end(), 0
        while True:
            found = _next_window(fd, size, start, window)
            if found is None:
                yield from _strict_from(path, first)
                return
            end, raws, last = found
            yield MixWindow(start, end, first, raws)
            if last:
                return
            start, first = end + 1, first + len(raws)  # + 1 skips the separating comma


def _next_window(fd: int, size: int, start: int, window: int) -> tuple[int, list[msgspec.Raw], bool] | None:
    """(end, raws, is_last) of the window starting at ``start``, or None when no candidate end parses."""
    if size - start <= window * 2:
        data = os.pread(fd, size - start, start)
        try:  # the tail holds the closing bracket itself
            return size, _raws.decode(b"[" + data), True
        except (msgspec.DecodeError, msgspec.ValidationError):
            return None
    data = os.pread(fd, window * 2, start)
    for tries, match in enumerate(_CANDIDATE.finditer(data, window)):
        if tries >= _MAX_TRIES:
            break
        body = data[: match.start() + 1]
        try:
            return start + len(body), _raws.decode(b"[" + body + b"]"), False
        except (msgspec.DecodeError, msgspec.ValidationError):
            continue
    return None


def _strict(path: Path) -> list[msgspec.Raw]:
    return MixFile(path).raw


def _strict_from(path: Path, first: int) -> Iterator[MixWindow]:
    """Fallback: the whole-file parser reports malformed JSON precisely; if it parses, serve the rest from it."""
    mf = MixFile(path)
    yield MixWindow(-1, -1, first, mf.raw[first:])
