"""Write one Parquet shard with embedded image bytes (columns in ``llavamix.records.shards.parquet_schema``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from llavamix.extras import require
from llavamix.io import atomic_writer
from llavamix.layout import PREFIX_SOURCES, Layout, image_prefix
from llavamix.records import MixFile, Record, decode_record
from llavamix.records.shards import ShardEntry, parquet_schema

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


def data_source(image: str) -> str:
    """The catalog source that provides an image path (its folder prefix when no source claims it)."""
    prefix = image_prefix(image)
    return PREFIX_SOURCES.get(prefix, prefix)


def _row(i: int, raw: bytes, rec: Record, layout: Layout) -> dict[str, Any]:
    image = None
    if isinstance(rec.image, str):
        image = {"bytes": layout.image(rec.image).read_bytes(), "path": rec.image}
    return {
        "index": i,
        "id": None if rec.id is None else str(rec.id),
        "id_is_int": type(rec.id) is int,
        "image": image,
        "conversations": [{"from": t.role, "value": t.value} for t in rec.conversations],
        "data_source": data_source(rec.image) if isinstance(rec.image, str) else None,
        "record": raw.decode("utf-8"),
    }


def _row_groups(records: MixFile, layout: Layout, entry: ShardEntry) -> Iterator[list[dict[str, Any]]]:
    rows: list[dict[str, Any]] = []
    buffered = 0
    for i in entry.indices():
        raw = bytes(records.raw[i])
        row = _row(i, raw, decode_record(raw), layout)
        rows.append(row)
        buffered += len(row["image"]["bytes"]) if row["image"] else 0
        if buffered >= ROW_GROUP_BYTES or len(rows) >= ROW_GROUP_ROWS:
            yield rows
            rows, buffered = [], 0
    if rows or not entry.records:  # an empty shard still gets its schema
        yield rows


def write_parquet_shard(records: MixFile, layout: Layout, entry: ShardEntry, path: Path) -> int:
    """Write ``entry``'s records to ``path`` (via ``path.part``, renamed when complete); returns its size."""
    pa = require("pyarrow")
    pq = require("pyarrow.parquet")
    schema = parquet_schema()
    options = {"compression": COMPRESSION, "use_dictionary": DICTIONARY}
    with atomic_writer(path) as fh, pq.ParquetWriter(fh, schema, **options) as writer:
        for rows in _row_groups(records, layout, entry):
            writer.write_table(pa.Table.from_pylist(rows, schema=schema))
    return path.stat().st_size
