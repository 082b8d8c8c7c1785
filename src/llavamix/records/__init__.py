"""The data model every stage shares: mix records, their JSON codec, and the schemas of exchanged files."""

from llavamix.records.images import iter_images
from llavamix.records.model import (
    IMAGE_TOKEN,
    ROLES,
    MixFile,
    Record,
    Turn,
    decode_record,
    decode_with,
    encode,
    write_raw_array,
    write_records,
)
from llavamix.records.windows import MixWindow, iter_windows, plan_spans, read_span, read_window

__all__ = [
    "IMAGE_TOKEN",
    "ROLES",
    "MixFile",
    "MixWindow",
    "Record",
    "Turn",
    "decode_record",
    "decode_with",
    "encode",
    "iter_images",
    "iter_windows",
    "plan_spans",
    "read_span",
    "read_window",
    "write_raw_array",
    "write_records",
]
