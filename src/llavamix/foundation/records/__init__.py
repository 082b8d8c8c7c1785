"""The data model every stage shares: mix records, their JSON codec, the ``MixSource`` reading interface, and the
rules and measures of a record (the sampler length, the anyres token count).

Imports only io, layout, errors and extras; the files stages exchange are ``llavamix.foundation.formats``'.
"""

from llavamix.foundation.records.images import iter_images
from llavamix.foundation.records.lengths import record_lengths, sample_lengths
from llavamix.foundation.records.model import (
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
from llavamix.foundation.records.source import MixSource
from llavamix.foundation.records.windows import MixWindow, iter_windows, plan_spans, read_span, read_window

__all__ = [
    "IMAGE_TOKEN",
    "ROLES",
    "MixFile",
    "MixSource",
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
    "record_lengths",
    "sample_lengths",
    "write_raw_array",
    "write_records",
]
