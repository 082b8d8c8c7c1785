"""Mix records: the data model and the JSON codec.

A mix file is one JSON array of records ``{"id", "image"?, "conversations": [{"from", "value"}]}``.
Reading keeps every record as raw bytes (``msgspec.Raw``, slices of one buffer) so a 1.6 GB file costs
about its own size in memory, values can be written back byte for byte, and each record is decoded on demand.
"""

from __future__ import annotations

import mmap
import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import msgspec

from llavamix.errors import MixFormatError
from llavamix.io import atomic_writer

IMAGE_TOKEN = "<image>"
ROLES = ("human", "gpt")


class Turn(msgspec.Struct, frozen=True):
    role: str = msgspec.field(name="from")
    value: str


class Record(msgspec.Struct, frozen=True):
    """A well-typed record; ``image`` is UNSET for text-only rows (absent key), None if the key holds null."""

    conversations: list[Turn]
    id: int | str | None = None
    image: str | msgspec.UnsetType | None = msgspec.UNSET

    @property
    def has_image(self) -> bool:
        # training tests key presence ('image' in record), not truthiness
        return self.image is not msgspec.UNSET


_raw_array = msgspec.json.Decoder(list[msgspec.Raw])
_record = msgspec.json.Decoder(Record)
_any = msgspec.json.Decoder()
_OFFSET = re.compile(r"byte (\d+)")


_SHAPE = "a mix file is one JSON array of records, [{...}, ...]"
_BOM = b"\xef\xbb\xbf"


def _format_error(path: Path | str, buf: bytes | memoryview | mmap.mmap, exc: Exception) -> MixFormatError:
    if len(buf) == 0:
        return MixFormatError(f"{path} is empty (0 bytes); {_SHAPE}: download it again or pass the right file")
    if bytes(buf[:3]) == _BOM:
        # the training code's json.load rejects the mark too, so it must go rather than be skipped here
        return MixFormatError(
            f"{path} starts with a UTF-8 byte-order mark; remove it: sed -i '1s/^\\xEF\\xBB\\xBF//' {path}"
        )
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


class MixFile:
    """A mix JSON opened for record-by-record access; ``raw[i]`` is record i's exact JSON bytes."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        with open(self.path, "rb") as fh:
            size = fh.seek(0, 2)
            # mmap: pages come from the page cache and are shared, nothing is copied onto the heap
            self._buf: mmap.mmap | bytes = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        try:
            self.raw: list[msgspec.Raw] = _raw_array.decode(self._buf)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise _format_error(self.path, self._buf, exc) from None

    def __len__(self) -> int:
        return len(self.raw)

    def record(self, i: int) -> Record:
        """Record ``i`` decoded strictly; raises msgspec.ValidationError if malformed."""
        return _record.decode(self.raw[i])

    def value(self, i: int) -> Any:
        """Record ``i`` as plain Python (whatever JSON value it is)."""
        return _any.decode(self.raw[i])


def decode_record(raw: bytes | msgspec.Raw) -> Record:
    return _record.decode(raw)


def not_utf8(path: Path | str, index: int, exc: UnicodeDecodeError) -> MixFormatError:
    """The error for a record whose strings are not UTF-8 (msgspec raises UnicodeDecodeError when decoding it)."""
    return MixFormatError(
        f"{path}: record {index} is not valid UTF-8 ({exc.reason}); JSON must be UTF-8: re-encode the file, "
        f"e.g. iconv -f latin1 -t utf-8 {path} > fixed.json"
    )


def write_raw_array(path: Path, raws: Iterable[bytes | msgspec.Raw]) -> int:
    """Write ``[raw0,raw1,...]`` atomically, each element's bytes unchanged; returns the count written."""
    n = 0
    with atomic_writer(path, "wb") as fh:
        fh.write(b"[")
        for raw in raws:
            if n:
                fh.write(b",\n")
            fh.write(bytes(raw) if isinstance(raw, msgspec.Raw) else raw)
            n += 1
        fh.write(b"]\n")
    return n


def encode(obj: Any) -> bytes:
    return msgspec.json.encode(obj)


def write_records(path: Path, records: Sequence[Any]) -> int:
    """Write plain-Python records as a JSON array, atomically."""
    return write_raw_array(path, (msgspec.json.encode(r) for r in records))
