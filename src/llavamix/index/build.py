"""Build the memory-mappable mix index (``llavamix index``) from a mix JSON, one record batch at a time."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from llavamix.errors import MixFormatError
from llavamix.extras import require
from llavamix.io import atomic_writer
from llavamix.records import MixFile
from llavamix.records import index as schema
from llavamix.tasks import NULL_PROGRESS, Progress

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IndexOptions:
    """``batch_records``: records per Arrow record batch (memory stays flat at about one batch)."""

    batch_records: int = 65_536
    progress: Progress = field(default=NULL_PROGRESS, compare=False)


@dataclass(frozen=True)
class IndexReport:
    path: Path
    records: int
    images: int  # records with an "image" key
    text_only: int
    bytes: int
    seconds: float


class _Turn(msgspec.Struct):
    value: str


class _Fields(msgspec.Struct):
    """The parts of a record the index derives columns from; other keys stay only in the raw bytes."""

    conversations: list[_Turn]
    id: Any = None
    image: Any = msgspec.UNSET


_decoder = msgspec.json.Decoder(_Fields)


def build_index(mix: Path, out: Path, options: IndexOptions | None = None) -> IndexReport:
    """Write the index of ``mix`` to ``out`` atomically; raises MixFormatError naming the first bad record."""
    options = options or IndexOptions()
    started = time.perf_counter()
    mix, out = Path(mix), Path(out)
    records = MixFile(mix)
    n = len(records)
    meta = {"source": mix.name, "source_bytes": str(mix.stat().st_size), "records": str(n)}
    ipc = require("pyarrow.ipc")
    images = 0
    options.progress.start("index", n, "records")
    try:
        with atomic_writer(out) as fh, ipc.new_file(fh, schema.index_schema(meta)) as writer:
            for lo in range(0, n, options.batch_records):
                batch = _batch(mix, records.raw[lo : lo + options.batch_records], lo)
                images += batch.column(schema.HAS_IMAGE).true_count
                writer.write_batch(batch)
                options.progress.advance("index", batch.num_rows)
    finally:
        options.progress.finish("index")
    report = IndexReport(out, n, images, n - images, out.stat().st_size, time.perf_counter() - started)
    log.info("indexed %d records of %s into %s in %.1fs", n, mix, out, report.seconds)
    return report


def _decode(mix: Path, raws: list[msgspec.Raw], start: int) -> list[_Fields]:
    decode = _decoder.decode
    fields = []
    for k, raw in enumerate(raws):
        try:
            fields.append(decode(raw))
        except msgspec.ValidationError as exc:
            raise MixFormatError(
                f"{mix}: record {start + k} cannot be indexed ({exc}): each record needs a 'conversations' list of "
                f"{{from, value}} objects with string values; run `llavamix verify {mix} --root ROOT "
                "--write-clean CLEAN.json` and index the clean file"
            ) from None
    return fields


def _batch(mix: Path, raws: list[msgspec.Raw], start: int) -> pa.RecordBatch:
    pa = require("pyarrow")
    np = require("numpy")
    fields = _decode(mix, raws, start)
    offsets = np.zeros(len(raws) + 1, dtype=np.int64)
    np.cumsum([len(r) for r in raws], out=offsets[1:])
    raw = pa.LargeBinaryArray.from_buffers(
        pa.large_binary(), len(raws), [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(raws))]
    )
    has_image = [f.image is not msgspec.UNSET for f in fields]
    lengths = [schema.sample_lengths([t.value for t in f.conversations], h) for f, h in zip(fields, has_image)]
    columns = [
        raw,
        pa.array([f.id if _is_int64(f.id) else None for f in fields], pa.int64()),
        pa.array([f.id if type(f.id) is str else None for f in fields], pa.string()),
        pa.array(has_image, pa.bool_()),
        pa.array([f.image if type(f.image) is str else None for f in fields], pa.string()),
        pa.array([length for length, _ in lengths], pa.int32()),
        pa.array([modality for _, modality in lengths], pa.int32()),
    ]
    return pa.RecordBatch.from_arrays(columns, schema=schema.index_schema())


def _is_int64(value: Any) -> bool:
    # bool is an int subclass but a different JSON type; ids past int64 keep their value in the raw bytes only
    return type(value) is int and -(2**63) <= value < 2**63
