"""Why a mix JSON cannot be read: the MixFormatError messages, each with the byte offset and what to do.

Bytes that pass msgspec's structural parse can still fail when a record is decoded: msgspec raises
UnicodeDecodeError for bytes that are not UTF-8 before release 0.23 and DecodeError since, and every release
raises RecursionError for JSON nested deeper than the interpreter's stack. ``UNREADABLE`` names them all, so a
reader catches one tuple and every release and every stage gives the same one-line error.
"""

from __future__ import annotations

import mmap
import re
from dataclasses import dataclass
from pathlib import Path

import msgspec

from llavamix.foundation.errors import MixFormatError

# what decoding a record's bytes raises when they are not JSON text; catch msgspec.ValidationError (a well-formed
# value of the wrong shape, and a subclass of DecodeError) before it
UNREADABLE = (msgspec.DecodeError, UnicodeDecodeError, RecursionError)
MAX_DEPTH = 100  # a mix record nests 3 levels; deeper than this is where a too-deep file is reported
_SHAPE = "a mix file is one JSON array of records, [{...}, ...]"

Buffer = bytes | memoryview | mmap.mmap
_BOM = b"\xef\xbb\xbf"
_OFFSET = re.compile(r"byte (\d+)")
# a string (skipped whole, so brackets inside it do not count), an opening bracket (1), a closing one (2)
_TOKEN = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|([\[{])|([\]}])')
_CHUNK = 16 << 20


def file_error(path: Path | str, buf: Buffer, exc: Exception) -> MixFormatError:
    """The error for a mix file that does not parse as a JSON array (``exc``: what msgspec raised)."""
    if len(buf) == 0:
        return MixFormatError(f"{path} is empty (0 bytes); {_SHAPE}: download it again or pass the right file")
    if bytes(buf[:3]) == _BOM:
        # the training code's json.load rejects the mark too, so it must go rather than be skipped here
        return MixFormatError(
            f"{path} starts with a UTF-8 byte-order mark; remove it: sed -i '1s/^\\xEF\\xBB\\xBF//' {path}"
        )
    if isinstance(exc, RecursionError):
        offset = nesting_offset(buf)
        return _too_deep(str(path), "" if offset is None else f" at byte {offset}")
    if _is_encoding(exc):
        return _not_utf8(str(path), first_invalid_utf8(buf), str(exc))
    match = _OFFSET.search(str(exc))
    if not match:
        return MixFormatError(
            f"{path}: not a JSON array of records ({exc}); {_SHAPE}: check the file or download it again"
        )
    offset = int(match.group(1))
    lo = max(0, offset - 40)
    snippet = bytes(buf[lo : offset + 40]).decode("utf-8", "replace")
    return MixFormatError(
        f"{path}: malformed JSON at byte {offset}: {exc}; near: {snippet!r}; fix the file or download it again"
    )


def record_error(raw: bytes | msgspec.Raw, exc: Exception, place: RecordPlace) -> MixFormatError:
    """The error for a record that parsed as JSON but cannot be decoded (``exc``: what msgspec raised)."""
    if isinstance(exc, RecursionError):
        return _too_deep(place.name(), place.at(nesting_offset(raw)))
    bad = first_invalid_utf8(raw)
    if bad is not None or _is_encoding(exc):
        return MixFormatError(
            f"{place.name()} is not valid UTF-8{place.at(bad)} ({exc}); JSON must be UTF-8: re-encode the file, "
            f"e.g. iconv -f latin1 -t utf-8 {place.path or 'MIX.json'} > fixed.json"
        )
    return MixFormatError(f"{place.name()}{place.at(0)} cannot be decoded ({exc}); fix or drop the record")


@dataclass(frozen=True)
class RecordPlace:
    """Where a record is, as far as its reader knows: the file, its number, its first byte's offset in the file."""

    path: str | None = None
    index: int | None = None
    start: int | None = None

    def name(self) -> str:
        record = "a record" if self.index is None else f"record {self.index}"
        return record if self.path is None else f"{self.path}: {record}"

    def at(self, inner: int | None) -> str:
        """`` at byte N`` for byte ``inner`` of the record: the file's offset when known, else the record's."""
        if inner is None:
            return ""
        return f" at byte {inner} of the record" if self.start is None else f" at byte {self.start + inner}"


def _too_deep(where: str, at: str) -> MixFormatError:
    return MixFormatError(
        f"{where}: JSON nests more than {MAX_DEPTH} levels deep{at}, beyond what a JSON reader's stack holds "
        "(mix records nest 3): fix the file or download it again"
    )


def _not_utf8(path: str, offset: int | None, reason: str) -> MixFormatError:
    at = f" at byte {offset}" if offset is not None else ""
    return MixFormatError(
        f"{path} is not valid UTF-8{at} ({reason}); JSON must be UTF-8: re-encode the file, "
        f"e.g. iconv -f latin1 -t utf-8 {path} > fixed.json"
    )


def _is_encoding(exc: Exception) -> bool:
    return isinstance(exc, UnicodeDecodeError) or "UTF-8" in str(exc)


def nesting_offset(buf: Buffer | msgspec.Raw, limit: int = MAX_DEPTH) -> int | None:
    """Offset of the first bracket that opens level ``limit + 1``, or None when nothing nests that deep."""
    depth = 0
    for match in _TOKEN.finditer(memoryview(buf)):
        if match.lastindex == 1:
            depth += 1
            if depth > limit:
                return match.start()
        elif match.lastindex == 2:
            depth -= 1
    return None


def first_invalid_utf8(buf: Buffer | msgspec.Raw) -> int | None:
    """Offset of the first byte that is not valid UTF-8, or None; reads in chunks, copying one at a time."""
    view = memoryview(buf)
    lo = 0
    while lo < len(view):
        hi = min(len(view), lo + _CHUNK)
        for _ in range(3):  # never cut a character in two: end the chunk before its continuation bytes
            if hi < len(view) and view[hi] & 0xC0 == 0x80:
                hi -= 1
        try:
            bytes(view[lo:hi]).decode("utf-8")
        except UnicodeDecodeError as exc:
            return lo + exc.start
        lo = hi
    return None
