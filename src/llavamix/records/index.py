"""The mix index file: its Arrow schema, the sampler's length formula, and ``open_index`` for zero-copy reads.

An index is one uncompressed Arrow IPC file whose record batches hold every mix record's exact JSON bytes plus
columns derived from it (id, image, lengths). Opened through a memory map, its buffers are file-backed pages that
forked workers share, so a process pays only for the records it touches.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from llavamix.errors import ConfigError
from llavamix.extras import require
from llavamix.records.model import Record, decode_record

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

INDEX_FORMAT = "llavamix-index"
INDEX_VERSION = 1
IMAGE_LENGTH = 128  # what the reference sampler adds to an image record's word count

# Column names, in schema order.
RAW = "raw"  # the record's exact JSON bytes
ID_INT = "id_int"  # the id when it is a JSON integer, else null
ID_STR = "id_str"  # the id when it is a JSON string, else null
HAS_IMAGE = "has_image"  # the record has an "image" key (training tests presence, not truthiness)
IMAGE = "image"  # the "image" value when it is a string, else null
LENGTHS = "lengths"
MODALITY_LENGTHS = "modality_lengths"


# ASCII bytes str.split() treats as whitespace -> b" ", every other byte -> b"x"
_ASCII_SPACE = b" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"
_WORD_MAP = bytes(32 if b in _ASCII_SPACE else 120 for b in range(256))


def count_words(values: Sequence[str]) -> int:
    """``sum(len(v.split()) for v in values)``, without building the word lists for ASCII text."""
    text = " ".join(values)
    if not text.isascii():
        return len(text.split())
    # a word starts at every non-space byte that follows a space (or starts the text)
    mapped = text.encode().translate(_WORD_MAP)
    return mapped.count(b" x") + mapped.startswith(b"x")


def sample_lengths(values: Sequence[str], has_image: bool) -> tuple[int, int]:
    """``(length, modality_length)`` of a record exactly as the reference dataset's properties compute them.

    Words are ``str.split()`` tokens; image records get +128 on ``length``; ``modality_length`` is the plain word
    count, negated for text-only records.
    """
    words = count_words(values)
    return words + (IMAGE_LENGTH if has_image else 0), (words if has_image else -words)


def index_schema(metadata: dict[str, str] | None = None) -> pa.Schema:
    """The Arrow schema every index file has; ``metadata`` is added to the format and version keys."""
    pa = require("pyarrow")
    meta = {"format": INDEX_FORMAT, "version": str(INDEX_VERSION), **(metadata or {})}
    return pa.schema(
        [
            pa.field(RAW, pa.large_binary(), nullable=False),
            pa.field(ID_INT, pa.int64()),
            pa.field(ID_STR, pa.string()),
            pa.field(HAS_IMAGE, pa.bool_(), nullable=False),
            pa.field(IMAGE, pa.string()),
            pa.field(LENGTHS, pa.int32(), nullable=False),
            pa.field(MODALITY_LENGTHS, pa.int32(), nullable=False),
        ],
        metadata=meta,
    )


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


class _BinaryColumn(_Chunks):
    """Zero-copy slices of a large_binary column: offsets and data stay views of the memory map."""

    def __init__(self, column: pa.ChunkedArray) -> None:
        np = require("numpy")
        super().__init__(column)
        self.offsets: list[np.ndarray] = []
        self.data: list[memoryview] = []
        for arr in self.arrays:
            _, offsets, data = arr.buffers()
            self.offsets.append(np.frombuffer(offsets, dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1])
            self.data.append(memoryview(data) if data is not None else memoryview(b""))

    def view(self, i: int) -> memoryview:
        c, j = self.locate(i)
        offsets = self.offsets[c]
        return self.data[c][int(offsets[j]) : int(offsets[j + 1])]


class MixIndex:
    """A read-only, memory-mapped mix index; ``record(i)`` decodes one record, nothing else is loaded."""

    def __init__(self, path: Path | str) -> None:
        pa = require("pyarrow")
        ipc = require("pyarrow.ipc")
        self.path = Path(path)
        if not self.path.is_file():
            raise ConfigError(f"{self.path}: index not found; build it with `llavamix index MIX.json --out {path}`")
        self._source = pa.memory_map(str(self.path), "r")
        try:
            reader = ipc.open_file(self._source)
        except pa.ArrowInvalid as exc:
            raise ConfigError(f"{self.path}: not a llavamix index ({exc}); rebuild it with `llavamix index`") from None
        _check_schema(self.path, reader.schema)
        # read_all on a memory map copies nothing: every buffer points into the mapped file
        self.table: pa.Table = reader.read_all()
        self.meta: dict[str, str] = {k.decode(): v.decode() for k, v in (reader.schema.metadata or {}).items()}
        self._raw = _BinaryColumn(self.table.column(RAW))
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

    def raw(self, i: int) -> memoryview:
        """Record ``i``'s exact JSON bytes, as a view of the mapped file (``bytes(...)`` copies it)."""
        return self._raw.view(self._row(i))

    def record(self, i: int) -> Record:
        """Record ``i`` decoded strictly (``llavamix.records.Record``)."""
        return decode_record(self.raw(i))

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
            self._cache[name] = self.table.column(name).to_numpy()
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
        self._source.close()

    def __enter__(self) -> MixIndex:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _check_schema(path: Path, schema: pa.Schema) -> None:
    meta = schema.metadata or {}
    if meta.get(b"format") != INDEX_FORMAT.encode():
        raise ConfigError(f"{path}: not a llavamix index; build one with `llavamix index MIX.json --out {path}`")
    version = meta.get(b"version", b"?").decode()
    if version != str(INDEX_VERSION):
        raise ConfigError(
            f"{path}: index version {version}, this llavamix reads version {INDEX_VERSION}; rebuild it with "
            "`llavamix index`"
        )


def open_index(path: Path | str) -> MixIndex:
    """Open an index built by ``llavamix index`` for random access (memory-mapped, zero-copy)."""
    return MixIndex(path)
