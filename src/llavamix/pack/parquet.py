"""Write one Parquet shard with embedded image bytes (columns in ``llavamix.records.shards.parquet_schema``)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from llavamix.extras import require
from llavamix.io import commit, part_path
from llavamix.layout import PREFIX_SOURCES, Layout, image_prefix
from llavamix.pack.samples import Sample, shard_samples
from llavamix.records import MixFile
from llavamix.records.shards import ShardEntry, parquet_schema

if TYPE_CHECKING:
    import pyarrow as pa

# a row group is flushed at this many buffered image bytes or rows, whichever comes first
ROW_GROUP_BYTES = 64 << 20
ROW_GROUP_ROWS = 2048
# per Parquet leaf column: image bytes are already compressed, so no CPU is spent recompressing them
COMPRESSION = {
    "index": "zstd", "id": "zstd", "id_is_int": "zstd", "image.bytes": "none", "image.path": "zstd",
    "conversations.list.element.from": "zstd", "conversations.list.element.value": "zstd",
    "data_source": "zstd", "record": "zstd",
}  # fmt: skip
# dictionary-encode only the low-cardinality columns; distinct image bytes would just overflow the dictionary
DICTIONARY = ["data_source", "conversations.list.element.from"]
# min/max statistics of large text and image values cost more to compute than they save any reader
STATISTICS = ["index", "id", "id_is_int", "data_source"]


def data_source(image: str) -> str:
    """The catalog source that provides an image path (its folder prefix when no source claims it)."""
    prefix = image_prefix(image)
    return PREFIX_SOURCES.get(prefix, prefix)


@dataclass
class _Columns:
    """One row group being gathered column by column (building Arrow arrays per column is much faster)."""

    index: list[int] = field(default_factory=list)
    id: list[str | None] = field(default_factory=list)
    id_is_int: list[bool] = field(default_factory=list)
    image_bytes: list[bytes | None] = field(default_factory=list)
    image_path: list[str | None] = field(default_factory=list)
    conversations: list[list[dict[str, str]]] = field(default_factory=list)
    data_source: list[str | None] = field(default_factory=list)
    record: list[str] = field(default_factory=list)
    buffered: int = 0

    def add(self, sample: Sample) -> None:
        rec, image, data = sample.record, sample.image, sample.data
        self.index.append(sample.index)
        self.id.append(None if rec.id is None else str(rec.id))
        self.id_is_int.append(type(rec.id) is int)
        self.image_bytes.append(data)
        self.image_path.append(image)
        self.conversations.append([{"from": t.role, "value": t.value} for t in rec.conversations])
        self.data_source.append(data_source(image) if image is not None else None)
        self.record.append(sample.raw.decode("utf-8"))
        self.buffered += len(data) if data is not None else 0

    def table(self, schema: pa.Schema) -> pa.Table:
        pa = require("pyarrow")
        image_type = schema.field("image").type
        image = pa.StructArray.from_arrays(
            [pa.array(self.image_bytes, pa.binary()), pa.array(self.image_path, pa.string())],
            fields=list(image_type),
            mask=pa.array([b is None for b in self.image_bytes], pa.bool_()),
        )
        arrays = [
            pa.array(self.index, pa.int64()),
            pa.array(self.id, pa.string()),
            pa.array(self.id_is_int, pa.bool_()),
            image,
            pa.array(self.conversations, schema.field("conversations").type),
            pa.array(self.data_source, pa.string()),
            pa.array(self.record, pa.string()),
        ]
        return pa.Table.from_arrays(arrays, schema=schema)


def _row_groups(records: MixFile, layout: Layout, entry: ShardEntry) -> Iterator[_Columns]:
    group = _Columns()
    for sample in shard_samples(records, layout, entry):
        group.add(sample)
        if group.buffered >= ROW_GROUP_BYTES or len(group.index) >= ROW_GROUP_ROWS:
            yield group
            group = _Columns()
    if group.index or not entry.records:  # an empty shard still gets its schema
        yield group


def write_parquet_shard(records: MixFile, layout: Layout, entry: ShardEntry, path: Path) -> int:
    """Write ``entry``'s records to ``path`` (via ``path.part``, renamed when complete); returns its size.

    The rename comes only after the writer has closed and written the footer: a failure or kill leaves nothing
    at ``path``, so a rerun never mistakes a truncated file for a shard.
    """
    pq = require("pyarrow.parquet")
    schema = parquet_schema()
    options = {"compression": COMPRESSION, "use_dictionary": DICTIONARY, "write_statistics": STATISTICS}
    tmp = part_path(path)
    try:
        # a path, not a Python file object: pyarrow then writes natively, without the GIL
        with pq.ParquetWriter(str(tmp), schema, **options) as writer:
            for group in _row_groups(records, layout, entry):
                writer.write_table(group.table(schema))
        # only now, after the with: the writer has closed and the footer is on disk
        commit(tmp, path, durable=True)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path.stat().st_size
