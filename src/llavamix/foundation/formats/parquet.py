"""Parquet shards: one row per packed record, image bytes embedded, readable by ``datasets`` as an Image column.

The columns are defined once, by ``parquet_schema``: the writer fills them by name with the schema's types, the
Hugging Face features are derived from it, and the reader selects from it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import msgspec

from llavamix.foundation.extras import require
from llavamix.foundation.formats.samples import Sample, ShardSample, image_ext
from llavamix.foundation.io import commit, part_path

if TYPE_CHECKING:
    import pyarrow as pa

SUFFIX = ".parquet"
# Column names, in schema order.
INDEX = "index"  # the record's position in the mix
ID = "id"  # the id as text (ID_IS_INT keeps its JSON type)
ID_IS_INT = "id_is_int"
IMAGE = "image"  # {bytes, path}: the datasets Image layout; null for text-only records
CONVERSATIONS = "conversations"
DATA_SOURCE = "data_source"  # the catalog source of the image
RECORD = "record"  # the record's exact JSON, so nothing is lost

# a row group is flushed at this many buffered image bytes or rows, whichever comes first
ROW_GROUP_BYTES = 64 << 20
ROW_GROUP_ROWS = 2048
# image bytes are already compressed, so no CPU is spent recompressing them; every other leaf column is zstd
UNCOMPRESSED = ("image.bytes",)
# dictionary-encode only the low-cardinality columns; distinct image bytes would just overflow the dictionary
DICTIONARY = [DATA_SOURCE, "conversations.list.element.from"]
# min/max statistics of large text and image values cost more to compute than they save any reader
STATISTICS = [INDEX, ID, ID_IS_INT, DATA_SOURCE]


def parquet_schema() -> pa.Schema:
    """Every shard's schema, with the Hugging Face features that make ``image`` load as an Image."""
    pa = require("pyarrow")
    turn = pa.struct([pa.field("from", pa.string()), pa.field("value", pa.string())])
    fields = [
        pa.field(INDEX, pa.int64(), nullable=False),
        pa.field(ID, pa.string()),
        pa.field(ID_IS_INT, pa.bool_(), nullable=False),
        pa.field(IMAGE, pa.struct([pa.field("bytes", pa.binary()), pa.field("path", pa.string())])),
        pa.field(CONVERSATIONS, pa.list_(turn)),
        pa.field(DATA_SOURCE, pa.string()),
        pa.field(RECORD, pa.string(), nullable=False),
    ]
    features = {f.name: _feature(f) for f in fields}
    return pa.schema(fields, metadata={b"huggingface": msgspec.json.encode({"info": {"features": features}})})


def _feature(arrow_field: pa.Field) -> Any:
    """The Hugging Face feature of a column: Image for ``image``, else its type's Value, struct or sequence."""
    pa = require("pyarrow")
    kind = arrow_field.type
    if arrow_field.name == IMAGE:
        return {"_type": "Image"}
    if pa.types.is_struct(kind):
        return {f.name: _feature(f) for f in kind}
    if pa.types.is_list(kind):
        return [_feature(kind.value_field)]  # a one-element list: the sequence notation every datasets release reads
    return {"_type": "Value", "dtype": str(kind)}


def _leaves(name: str, kind: pa.DataType) -> Iterator[str]:
    """The Parquet leaf column paths under a column (``image.bytes``, ``conversations.list.element.from``)."""
    pa = require("pyarrow")
    if pa.types.is_struct(kind):
        for f in kind:
            yield from _leaves(f"{name}.{f.name}", f.type)
    elif pa.types.is_list(kind):
        yield from _leaves(f"{name}.list.element", kind.value_type)
    else:
        yield name


def _compression(schema: pa.Schema) -> dict[str, str]:
    leaves = [leaf for f in schema for leaf in _leaves(f.name, f.type)]
    return {leaf: "none" if leaf in UNCOMPRESSED else "zstd" for leaf in leaves}


def _row(sample: Sample) -> dict[str, Any]:
    """Every column but ``image`` of one sample, by name."""
    rec = sample.record
    return {
        INDEX: sample.index,
        ID: _id_text(rec.id),
        ID_IS_INT: type(rec.id) is int,
        CONVERSATIONS: [{"from": t.role, "value": t.value} for t in rec.conversations],
        DATA_SOURCE: sample.source,
        RECORD: sample.raw.decode("utf-8"),
    }


def _id_text(rid: Any) -> str | None:
    """A string id as it is; any other JSON value as its JSON text (``7``, ``1.5``, ``true``, ``[1, 2]``)."""
    if rid is None or type(rid) is str:
        return rid
    return msgspec.json.encode(rid).decode("utf-8")


@dataclass
class _RowGroup:
    """One row group gathered column by column (building Arrow arrays per column is much faster)."""

    columns: dict[str, list[Any]] = field(default_factory=dict)
    image_bytes: list[bytes | None] = field(default_factory=list)
    image_path: list[str | None] = field(default_factory=list)
    buffered: int = 0

    def add(self, sample: Sample) -> None:
        for name, value in _row(sample).items():
            self.columns.setdefault(name, []).append(value)
        self.image_bytes.append(sample.data)
        self.image_path.append(sample.image)
        self.buffered += len(sample.data) if sample.data is not None else 0

    def __len__(self) -> int:
        return len(self.image_bytes)

    def table(self, schema: pa.Schema) -> pa.Table:
        pa = require("pyarrow")
        arrays = [self._image(f.type) if f.name == IMAGE else pa.array(self.columns.get(f.name, []), f.type)
                  for f in schema]  # fmt: skip
        return pa.Table.from_arrays(arrays, schema=schema)

    def _image(self, kind: pa.DataType) -> pa.Array:
        pa = require("pyarrow")
        return pa.StructArray.from_arrays(
            [pa.array(self.image_bytes, kind.field("bytes").type), pa.array(self.image_path, kind.field("path").type)],
            fields=list(kind),
            mask=pa.array([b is None for b in self.image_bytes], pa.bool_()),
        )


def _row_groups(samples: Iterable[Sample]) -> Iterator[_RowGroup]:
    group = _RowGroup()
    empty = True
    for sample in samples:
        group.add(sample)
        empty = False
        if group.buffered >= ROW_GROUP_BYTES or len(group) >= ROW_GROUP_ROWS:
            yield group
            group = _RowGroup()
    if len(group) or empty:  # an empty shard still gets its schema
        yield group


def write_shard(samples: Iterable[Sample], path: Path) -> int:
    """Write ``samples`` to the Parquet file ``path`` (via ``path.part``, renamed when complete); returns its size.

    The rename comes only after the writer has closed and written the footer: a failure or kill leaves nothing
    at ``path``, so a rerun never mistakes a truncated file for a shard.
    """
    pq = require("pyarrow.parquet")
    schema = parquet_schema()
    options = {"compression": _compression(schema), "use_dictionary": DICTIONARY, "write_statistics": STATISTICS}
    tmp = part_path(path)
    try:
        # a path, not a Python file object: pyarrow then writes natively, without the GIL
        with pq.ParquetWriter(str(tmp), schema, **options) as writer:
            for group in _row_groups(samples):
                writer.write_table(group.table(schema))
        # only now, after the with: the writer has closed and the footer is on disk
        commit(tmp, path, durable=True)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path.stat().st_size


def iter_shard(path: Path) -> Iterator[ShardSample]:
    """The samples of the Parquet shard ``path``, in order, a row group at a time."""
    with open(path, "rb") as fh:
        yield from read_stream(fh, str(path))


def read_stream(fh: IO[bytes], name: str) -> Iterator[ShardSample]:
    """The samples of a Parquet shard in the seekable ``fh``, in order: only the columns a sample needs are read,
    each row group's in one coalesced pass (``pre_buffer``), which suits object storage."""
    del name  # pyarrow names the file in its own errors
    pq = require("pyarrow.parquet")
    for batch in pq.ParquetFile(fh, pre_buffer=True).iter_batches(columns=[INDEX, IMAGE, RECORD]):
        for row in batch.to_pylist():
            image = row[IMAGE]
            ext = image_ext(image["path"]) if image else None
            yield ShardSample(row[INDEX], row[RECORD].encode(), image["bytes"] if image else None, ext)
