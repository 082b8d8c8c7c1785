"""The index file's columns, their Arrow types and the metadata that marks a file as a llavamix index."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from llavamix.foundation.errors import ConfigError
from llavamix.foundation.extras import require

if TYPE_CHECKING:
    import pyarrow as pa

INDEX_FORMAT = "llavamix-index"
INDEX_VERSION = 1

# Column names, in schema order.
RAW = "raw"  # the record's exact JSON bytes
ID_INT = "id_int"  # the id when it is a JSON integer, else null
ID_STR = "id_str"  # the id when it is a JSON string, else null
HAS_IMAGE = "has_image"  # the record has an "image" key (training tests presence, not truthiness)
IMAGE = "image"  # the "image" value when it is a string, else null
LENGTHS = "lengths"  # the reference sampler's lengths (records.lengths)
MODALITY_LENGTHS = "modality_lengths"


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


def check_schema(path: Path, schema: pa.Schema) -> None:
    """Raise ConfigError unless ``schema`` (of the file ``path``) is an index of the version this release reads."""
    meta = schema.metadata or {}
    if meta.get(b"format") != INDEX_FORMAT.encode():
        raise ConfigError(f"{path}: not a llavamix index; build one with `llavamix index MIX.json --out {path}`")
    version = meta.get(b"version", b"?").decode()
    if version != str(INDEX_VERSION):
        raise ConfigError(
            f"{path}: index version {version}, this llavamix reads version {INDEX_VERSION}; rebuild it with "
            "`llavamix index`"
        )
