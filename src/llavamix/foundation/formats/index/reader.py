"""Reading an index: ``open_index`` maps the file; records and columns are read on demand, zero-copy.

Opened through a memory map, the file's buffers are file-backed pages that forked workers share, so a process pays
only for the records it touches.
"""

from __future__ import annotations

import bisect
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from llavamix.foundation.errors import ConfigError
from llavamix.foundation.extras import require
from llavamix.foundation.formats.index.schema import (
    HAS_IMAGE,
    ID_INT,
    ID_STR,
    IMAGE,
    LENGTHS,
    MODALITY_LENGTHS,
    RAW,
    check_schema,
)
from llavamix.foundation.records.model import Record, decode_record

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa


class _Chunks:
    """Maps a global row number to (chunk, row in chunk) for a column split into record batches."""

    def __init__(self, column: pa.ChunkedArray) -> None:
        self.arrays = column.chunks
        self.starts: list[int] = []
        total = 0
        for arr in self.arrays:
            self.starts.append(total)
            total += len(arr)

    def locate(self, i: int) -> tuple[int, int]:
        c = bisect.bisect_right(self.starts, i) - 1
        return c, i - self.starts[c]


class _FileReader:
    """Reads the bytes behind buffers of the mapped table with ``pread`` instead of touching the mapping.

    Touching a mapping maps whole page-cache folios (up to 2 MiB each on recent kernels) into the process, so
    random access through the map would grow RSS towards the file size; ``pread`` copies just the bytes asked
    for from the same shared page cache, and is safe in forked workers (no shared file position).
    """

    def __init__(self, path: Path, source: pa.MemoryMappedFile) -> None:
        self._fh = open(path, "rb")  # noqa: SIM115 -- lives as long as the index
        self.fd = self._fh.fileno()
        source.seek(0)
        self.base = source.read_buffer(1).address

    def position(self, buf: pa.Buffer) -> int:
        """The file offset of a buffer of the mapped table."""
        return buf.address - self.base

    def read(self, pos: int, size: int) -> bytes:
        data = os.pread(self.fd, size, pos)
        if len(data) != size:
            raise OSError(f"{self._fh.name}: short read at byte {pos}; the index file was truncated, rebuild it")
        return data

    def read_buffer(self, buf: pa.Buffer) -> bytes:
        return self.read(self.position(buf), buf.size)

    def close(self) -> None:
        self._fh.close()


class _BinaryColumn(_Chunks):
    """Value ``i`` of a large_binary column: offsets held in memory, bytes read from the file on demand."""

    def __init__(self, column: pa.ChunkedArray, reader: _FileReader) -> None:
        numpy = require("numpy")
        super().__init__(column)
        self.reader = reader
        self.offsets: list[np.ndarray] = []
        self.data_pos: list[int] = []
        for arr in self.arrays:
            _, offsets, data = arr.buffers()
            all_offsets = numpy.frombuffer(reader.read_buffer(offsets), dtype=numpy.int64)
            self.offsets.append(all_offsets[arr.offset : arr.offset + len(arr) + 1])
            self.data_pos.append(reader.position(data) if data is not None else 0)

    def value(self, i: int) -> bytes:
        c, j = self.locate(i)
        lo, hi = self.offsets[c][j : j + 2].tolist()
        return self.reader.read(self.data_pos[c] + lo, hi - lo)


def _read_int32(column: pa.ChunkedArray, reader: _FileReader) -> np.ndarray:
    """A non-null int32 column copied into one array, read without touching the mapping."""
    np = require("numpy")
    parts = [
        np.frombuffer(reader.read_buffer(arr.buffers()[1]), dtype=np.int32)[arr.offset : arr.offset + len(arr)]
        for arr in column.chunks
    ]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)


class MixIndex:
    """A read-only, memory-mapped mix index (a ``MixSource``); ``record(i)`` decodes one record, nothing else is
    loaded."""

    def __init__(self, path: Path | str) -> None:
        pyarrow = require("pyarrow")
        ipc = require("pyarrow.ipc")
        self.path = Path(path)
        if not self.path.is_file():
            raise ConfigError(f"{self.path}: index not found; build it with `llavamix index MIX.json --out {path}`")
        self._source = pyarrow.memory_map(str(self.path), "r")
        try:
            reader = ipc.open_file(self._source)
        except pyarrow.ArrowInvalid as exc:
            raise ConfigError(f"{self.path}: not a llavamix index ({exc}); rebuild it with `llavamix index`") from None
        check_schema(self.path, reader.schema)
        # read_all on a memory map copies nothing: every buffer points into the mapped file
        self.table: pa.Table = reader.read_all()
        self.meta: dict[str, str] = {k.decode(): v.decode() for k, v in (reader.schema.metadata or {}).items()}
        self._reader = _FileReader(self.path, self._source)
        self._raw = _BinaryColumn(self.table.column(RAW), self._reader)
        self._cache: dict[str, Any] = {}

    def __len__(self) -> int:
        return self.table.num_rows

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        # spawn-started workers reopen the file instead of pickling mapped buffers
        return open_index, (str(self.path),)

    def _row(self, i: int) -> int:
        n = len(self)
        if not -n <= i < n:
            raise IndexError(f"record {i} out of range for an index of {n} records")
        return i + n if i < 0 else i

    def raw(self, i: int) -> bytes:
        """Record ``i``'s exact JSON bytes."""
        return self._raw.value(self._row(i))

    def record(self, i: int) -> Record:
        """Record ``i`` decoded strictly (``llavamix.foundation.records.Record``)."""
        return decode_record(self.raw(i))

    def sampler_lengths(self) -> tuple[list[int], list[int]]:
        """Every record's ``(lengths, modality_lengths)``, as stored when the index was built."""
        return self.lengths.tolist(), self.modality_lengths.tolist()

    def value(self, i: int) -> Any:
        """Record ``i`` as plain Python, exactly what ``json.load`` of the mix gives for it."""
        return msgspec.json.decode(self.raw(i))

    def _scalar(self, name: str, i: int) -> Any:
        cols = self._cache.get(name)
        if cols is None:
            cols = self._cache[name] = _Chunks(self.table.column(name))
        c, j = cols.locate(self._row(i))
        return cols.arrays[c][j].as_py()

    def id(self, i: int) -> int | str | None:
        """Record ``i``'s id with its JSON type (int or str); None when absent or of another type."""
        value = self._scalar(ID_INT, i)
        return value if value is not None else self._scalar(ID_STR, i)

    def has_image(self, i: int) -> bool:
        """Whether record ``i`` has an ``image`` key (even one holding null)."""
        return bool(self._scalar(HAS_IMAGE, i))

    def image(self, i: int) -> str | None:
        """Record ``i``'s image path relative to the data root; None for text-only records."""
        return self._scalar(IMAGE, i)

    def _numpy(self, name: str) -> np.ndarray:
        if name not in self._cache:
            self._cache[name] = _read_int32(self.table.column(name), self._reader)
        return self._cache[name]

    @property
    def lengths(self) -> np.ndarray:
        """Per-record ``lengths`` of the reference sampler (int32)."""
        return self._numpy(LENGTHS)

    @property
    def modality_lengths(self) -> np.ndarray:
        """Per-record ``modality_lengths`` of the reference sampler (int32, negative for text-only)."""
        return self._numpy(MODALITY_LENGTHS)

    @property
    def images(self) -> list[str | None]:
        """Every record's image path (None for text-only), in record order."""
        return self.table.column(IMAGE).to_pylist()

    def __iter__(self) -> Iterator[Record]:
        for i in range(len(self)):
            yield self.record(i)

    def close(self) -> None:
        self._cache.clear()
        self._reader.close()
        self._source.close()

    def __enter__(self) -> MixIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_index(path: Path | str) -> MixIndex:
    """Open an index built by ``llavamix index`` for random access (memory-mapped, zero-copy)."""
    return MixIndex(path)
