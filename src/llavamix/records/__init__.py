"""The data model shared by every stage: mix records and their JSON codec, and the schemas of the files stages exchange."""

from llavamix.records.model import (
    IMAGE_TOKEN,
    ROLES,
    MixFile,
    Record,
    Turn,
    decode_record,
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
    "encode",
    "iter_windows",
    "plan_spans",
    "read_span",
    "read_window",
    "write_raw_array",
    "write_records",
]
