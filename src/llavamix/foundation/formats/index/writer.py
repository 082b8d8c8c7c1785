"""Writing an index: the derived columns of a batch of records, and the file they go to (atomically)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from llavamix.foundation.extras import require
from llavamix.foundation.formats.index import schema as col  # the column names, by name
from llavamix.foundation.io import atomic_writer
from llavamix.foundation.records.lengths import sample_lengths

if TYPE_CHECKING:
    import pyarrow as pa


@dataclass
class IndexColumns:
    """The columns of one record batch that are derived from its records (all but the raw bytes), filled record by
    record; a plain dataclass, so worker processes can fill one and send it back."""

    id_int: list[int | None] = field(default_factory=list)
    id_str: list[str | None] = field(default_factory=list)
    has_image: list[bool] = field(default_factory=list)
    image: list[str | None] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    modality_lengths: list[int] = field(default_factory=list)

    def add(self, values: Sequence[str], id: Any, image: Any) -> None:
        """One record: its turns' ``value`` texts, its ``id`` and ``image`` (msgspec.UNSET when the key is absent)."""
        has_image = image is not msgspec.UNSET
        length, modality = sample_lengths(values, has_image)
        self.id_int.append(id if _is_int64(id) else None)
        self.id_str.append(id if type(id) is str else None)
        self.has_image.append(has_image)
        self.image.append(image if type(image) is str else None)
        self.lengths.append(length)
        self.modality_lengths.append(modality)

    def by_name(self) -> dict[str, list[Any]]:
        return {col.ID_INT: self.id_int, col.ID_STR: self.id_str, col.HAS_IMAGE: self.has_image, col.IMAGE: self.image,
                col.LENGTHS: self.lengths, col.MODALITY_LENGTHS: self.modality_lengths}  # fmt: skip


def _is_int64(value: Any) -> bool:
    # bool is an int subclass but a different JSON type; ids past int64 keep their value in the raw bytes only
    return type(value) is int and -(2**63) <= value < 2**63


def record_batch(raws: Sequence[bytes | msgspec.Raw], columns: IndexColumns) -> pa.RecordBatch:
    """One batch of the index: ``raws`` (the records' exact bytes) beside their derived ``columns``."""
    pa = require("pyarrow")
    schema = col.index_schema()
    values: dict[str, Any] = {col.RAW: _binary(raws), **columns.by_name()}
    # every column by its name and the schema's type: a column the schema adds is a KeyError here, not a shift
    arrays = [values[f.name] if f.name == col.RAW else pa.array(values[f.name], f.type) for f in schema]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _binary(raws: Sequence[bytes | msgspec.Raw]) -> pa.Array:
    """The raw column built from one joined buffer and its offsets (no per-value Python objects)."""
    pa = require("pyarrow")
    np = require("numpy")
    offsets = np.zeros(len(raws) + 1, dtype=np.int64)
    np.cumsum([len(r) for r in raws], out=offsets[1:])
    data = pa.py_buffer(b"".join(raws))
    return pa.LargeBinaryArray.from_buffers(pa.large_binary(), len(raws), [None, pa.py_buffer(offsets), data])


class IndexWriter:
    """An index file being written, batch by batch (see ``open_writer``)."""

    def __init__(self, ipc_writer: Any) -> None:
        self._writer = ipc_writer

    def write(self, raws: Sequence[bytes | msgspec.Raw], columns: IndexColumns) -> None:
        self._writer.write_batch(record_batch(raws, columns))


@contextlib.contextmanager
def open_writer(out: Path, metadata: Mapping[str, str]) -> Iterator[IndexWriter]:
    """Write an index to ``out`` through ``out.part``, renamed only once complete; ``metadata`` joins the schema's."""
    ipc = require("pyarrow.ipc")
    with atomic_writer(out) as fh, ipc.new_file(fh, col.index_schema(dict(metadata))) as writer:
        yield IndexWriter(writer)
