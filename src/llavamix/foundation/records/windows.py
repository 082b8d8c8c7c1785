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

from llavamix.foundation.records.model import MixFile

WINDOW = 4 << 20  # bytes per window: amortises per-window work; larger buffers only cost page faults
_MAX_TRIES = 64  # candidate ends to try before handing the file to the strict whole-file parser
_CANDIDATE = re.compile(rb"(\})\s*,")  # group 1: the brace that would close a record
_LIKELY = re.compile(rb"\]\s*(\})\s*,")
_TAIL = 1 << 20
_LEADING = re.compile(rb"\s*\[")
_raws = msgspec.json.Decoder(list[msgspec.Raw])


@dataclass
class MixWindow:
    """Records ``first .. first+len(raws)-1`` of a mix; their bytes are ``[start, end)`` of the file.

    ``start`` is -1 for the rare window served by the whole-file fallback, which cannot be re-read by span.
    """

    start: int
    end: int
    first: int
    raws: list[msgspec.Raw] = field(repr=False)


def read_window(path: Path | str, start: int, end: int) -> list[msgspec.Raw]:
    """Re-read the records of a window yielded earlier by ``iter_windows``."""
    with open(path, "rb") as fh:
        data = os.pread(fh.fileno(), end - start, start)
    return _parse(b"[" + data + b"]")


def _parse(data: bytes) -> list[msgspec.Raw]:
    """The records of ``data``; msgspec.DecodeError when it does not parse, nesting too deep included, so that
    every caller's fallback reaches the whole-file parser, whose error gives the offset (``malformed``)."""
    try:
        return _raws.decode(data)
    except RecursionError:
        raise msgspec.DecodeError("JSON nested too deeply") from None


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
            end, raws, after = found
            yield MixWindow(start, end, first, raws)
            if after is None:
                return
            start, first = after, first + len(raws)


def _next_window(fd: int, size: int, start: int, window: int) -> tuple[int, list[msgspec.Raw], int | None] | None:
    """(end, raws, start of the next window or None if last), or None when no candidate end parses."""
    if size - start <= window + _tail(window):
        data = os.pread(fd, size - start, start)
        try:  # the tail holds the closing bracket itself
            raws = _parse(b"[" + data)
        except (msgspec.DecodeError, msgspec.ValidationError):
            return None
        return start + len(data.rstrip()) - 1, raws, None  # the end excludes the closing bracket
    data = os.pread(fd, window, start)
    for match in _candidates(data, _tail(window)):
        body = data[: match.start(1) + 1]
        try:
            return start + len(body), _parse(b"[" + body + b"]"), start + match.end()
        except (msgspec.DecodeError, msgspec.ValidationError):
            continue
    return None


def _tail(window: int) -> int:
    return max(1, min(_TAIL, window // 2))


def _candidates(data: bytes, tail: int) -> Iterator[re.Match[bytes]]:
    """Possible record ends, last first: ``]}`` + ``,`` (a record whose last key is its conversations) before
    any ``}`` + ``,`` (which also matches the end of every turn), in the window's tail, then anywhere."""
    cut = max(0, len(data) - tail)
    regions = [(cut, len(data)), (0, cut)] if cut else [(0, len(data))]
    tries = 0
    for pattern in (_LIKELY, _CANDIDATE):
        for lo, hi in regions:
            for match in reversed(list(pattern.finditer(data, lo, hi))):
                tries += 1
                if tries > _MAX_TRIES:
                    return
                yield match


def _strict(path: Path) -> None:
    MixFile(path)


def _strict_from(path: Path, first: int) -> Iterator[MixWindow]:
    """Fallback: the whole-file parser reports malformed JSON precisely; if it parses, serve the rest from it."""
    mf = MixFile(path)
    yield MixWindow(-1, -1, first, mf.raws[first:])


def plan_spans(path: Path | str, span: int = WINDOW) -> list[tuple[int, int]]:
    """Nominal byte ranges ``(lo, hi)`` tiling the file, for ``read_span``; costs one stat, reads nothing."""
    size = os.stat(path).st_size  # noqa: PTH116 - path may be str
    return [(lo, min(size, lo + span)) for lo in range(0, max(size, 1), span)]


def read_span(path: Path | str, lo: int, hi: int) -> list[msgspec.Raw]:
    """The records that start in the nominal range ``[lo, hi)`` (empty when none does).

    Both ends move to the first candidate record end at or after them, with a rule that depends only on the
    file, so neighbouring spans meet exactly. Span 0 starts at the array's true start; if every span of a
    ``plan_spans`` plan parses, each one's end is proven by the same argument as ``iter_windows`` and the
    records are exactly the file's. A span whose end fell inside a string fails to parse: msgspec raises
    DecodeError and the caller falls back to ``iter_windows``.
    """
    with open(path, "rb") as fh:
        fd, size = fh.fileno(), os.fstat(fh.fileno()).st_size
        start = _head(fd) if lo == 0 else _boundary(fd, lo, size)[1]
        end = _boundary(fd, hi, size)[0]
        if end <= start:
            return []
        data = os.pread(fd, end - start, start)
    return _parse(b"[" + data + b"]")


def _head(fd: int) -> int:
    head = _LEADING.match(os.pread(fd, 4096, 0))
    if head is None:
        raise msgspec.DecodeError("not a JSON array")
    return head.end()


def _boundary(fd: int, at: int, size: int) -> tuple[int, int]:
    """(end of the record that closes first at or after ``at``, start of the next one); at the end of the
    file, (position of the closing bracket, size)."""
    pos = at
    while pos < size:
        data = os.pread(fd, _TAIL, pos)
        match = _LIKELY.search(data) or _CANDIDATE.search(data)
        # a candidate cut by the chunk's edge is found again by the next, overlapping read
        if match is not None and match.end() < len(data):
            return pos + match.start(1) + 1, pos + match.end()
        pos += max(1, len(data) - 64)
    tail = os.pread(fd, min(size, 64), max(0, size - 64)).rstrip()
    if not tail.endswith(b"]"):
        raise msgspec.DecodeError("the array is not closed")
    return max(0, size - 64) + len(tail) - 1, size
