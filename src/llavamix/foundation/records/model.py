"""Mix records: the data model and the JSON codec.

A mix file is one JSON array of records ``{"id", "image"?, "conversations": [{"from", "value"}]}``.
Reading keeps every record as raw bytes (``msgspec.Raw``, slices of one buffer) so a 1.6 GB file costs
about its own size in memory, values can be written back byte for byte, and each record is decoded on demand.
"""

from __future__ import annotations

import mmap
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import msgspec

from llavamix.foundation.errors import MixFormatError
from llavamix.foundation.io import atomic_writer
from llavamix.foundation.records.lengths import record_lengths
from llavamix.foundation.records.malformed import UNREADABLE, RecordPlace, file_error, record_error

IMAGE_TOKEN = "<image>"
ROLES = ("human", "gpt")


class Turn(msgspec.Struct, frozen=True):
    role: str = msgspec.field(name="from")
    value: str


class Record(msgspec.Struct, frozen=True):
    """A well-typed record; ``image`` is UNSET for text-only rows (absent key), None if the key holds null."""

    conversations: list[Turn]
    id: Any = None  # the trainer never reads it: a float, bool, list or object id still trains
    image: str | msgspec.UnsetType | None = msgspec.UNSET

    @property
    def has_image(self) -> bool:
        # training tests key presence ('image' in record), not truthiness
        return self.image is not msgspec.UNSET


_raw_array = msgspec.json.Decoder(list[msgspec.Raw])
_record = msgspec.json.Decoder(Record)
_any = msgspec.json.Decoder()
_LEADING = re.compile(rb"[ \t\r\n]*\[[ \t\r\n]*")
_SEPARATOR = re.compile(rb"[ \t\r\n]*,?[ \t\r\n]*")
T = TypeVar("T")


class MixFile:
    """A mix JSON opened for record-by-record access (a ``MixSource``); ``raws`` holds every record's exact JSON
    bytes, in order, as slices of the mapped file."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        with open(self.path, "rb") as fh:
            size = fh.seek(0, 2)
            # mmap: pages come from the page cache and are shared, nothing is copied onto the heap
            self._buf: mmap.mmap | bytes = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if size else b""
        try:
            self.raws: list[msgspec.Raw] = _raw_array.decode(self._buf)
        except UNREADABLE as exc:  # ValidationError too (a DecodeError): not an array
            raise file_error(self.path, self._buf, exc) from None

    def __len__(self) -> int:
        return len(self.raws)

    def raw(self, i: int) -> bytes:
        """Record ``i``'s exact JSON bytes."""
        return bytes(self.raws[i])

    def record(self, i: int) -> Record:
        """Record ``i`` decoded strictly; raises msgspec.ValidationError if malformed, MixFormatError if its bytes
        cannot be decoded (see ``decode_with``)."""
        return decode_with(_record.decode, self.raws[i], self.path, i)

    def value(self, i: int) -> Any:
        """Record ``i`` as plain Python (whatever JSON value it is)."""
        return decode_with(_any.decode, self.raws[i], self.path, i)

    def sampler_lengths(self) -> tuple[list[int], list[int]]:
        """Every record's ``(lengths, modality_lengths)``, decoding each record once."""
        pairs = [record_lengths(self.record(i)) for i in range(len(self))]
        return [p[0] for p in pairs], [p[1] for p in pairs]

    def offset(self, i: int) -> int:
        """The byte offset of record ``i`` in the file; walks the records before it, so it is for error messages."""
        found = _LEADING.match(self._buf)
        pos = found.end() if found else 0
        for raw in self.raws[:i]:
            pos = _after(self._buf, pos + len(raw))
        return pos


def _after(buf: mmap.mmap | bytes, pos: int) -> int:
    found = _SEPARATOR.match(buf, pos)
    return found.end() if found else pos


def decode_with(
    decode: Callable[[Any], T], raw: bytes | msgspec.Raw, path: Path | str | None = None, index: int | None = None
) -> T:
    """``decode(raw)`` for one record's JSON bytes; bytes that are not UTF-8 or nest too deep raise MixFormatError
    with the byte offset (the file's when ``path`` and ``index`` say where the record is), on every msgspec release.

    msgspec.ValidationError (a well-formed value of the wrong shape) passes through: it is the caller's to judge.
    """
    try:
        return decode(raw)
    except msgspec.ValidationError:
        raise  # a subclass of DecodeError, but a matter of shape, not of bytes
    except UNREADABLE as exc:
        place = RecordPlace(None if path is None else str(path), index, _start(path, index))
        raise record_error(raw, exc, place) from None


def _start(path: Path | str | None, index: int | None) -> int | None:
    if path is None or index is None:
        return None
    try:
        return MixFile(path).offset(index)
    except (OSError, MixFormatError):
        return None  # the message then gives the offset inside the record


def decode_record(raw: bytes | msgspec.Raw, path: Path | str | None = None, index: int | None = None) -> Record:
    """One record, strictly; MixFormatError for bytes that cannot be decoded, as ``decode_with``."""
    return decode_with(_record.decode, raw, path, index)


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
