"""Build the memory-mappable mix index (``llavamix index``) from a mix JSON, one record batch at a time."""

from __future__ import annotations

import logging
import multiprocessing
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from llavamix.errors import ConfigError, MixFormatError
from llavamix.extras import require
from llavamix.io import atomic_writer, same_file
from llavamix.records import MixFile, decode_with
from llavamix.records import index as schema
from llavamix.tasks import NULL_PROGRESS, Progress

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IndexOptions:
    """``batch_records``: records per Arrow record batch (memory stays flat at about one batch);
    ``jobs``: processes that decode records and count words while the main process writes."""

    batch_records: int = 65_536
    jobs: int = 1
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


@dataclass
class _Derived:
    """The columns of one batch computed from its decoded records (everything but the raw bytes)."""

    id_int: list[int | None] = field(default_factory=list)
    id_str: list[str | None] = field(default_factory=list)
    has_image: list[bool] = field(default_factory=list)
    image: list[str | None] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    modality_lengths: list[int] = field(default_factory=list)

    def add(self, rec: _Fields) -> None:
        has_image = rec.image is not msgspec.UNSET
        length, modality = schema.sample_lengths([t.value for t in rec.conversations], has_image)
        self.id_int.append(rec.id if _is_int64(rec.id) else None)
        self.id_str.append(rec.id if type(rec.id) is str else None)
        self.has_image.append(has_image)
        self.image.append(rec.image if type(rec.image) is str else None)
        self.lengths.append(length)
        self.modality_lengths.append(modality)


def build_index(mix: Path, out: Path, options: IndexOptions | None = None) -> IndexReport:
    """Write the index of ``mix`` to ``out`` atomically; raises MixFormatError naming the first bad record."""
    options = options or IndexOptions()
    if options.batch_records < 1 or options.jobs < 1:
        raise ConfigError("index: batch_records and jobs must be at least 1")
    started = time.perf_counter()
    mix, out = Path(mix), Path(out)
    if same_file(out, mix):
        raise ConfigError(
            f"index output {out} is the mix itself; write the index to another file, e.g. {mix.with_suffix('.idx')}"
        )
    records = MixFile(mix)
    n = len(records)
    meta = {"source": mix.name, "source_bytes": str(mix.stat().st_size), "records": str(n)}
    ipc = require("pyarrow.ipc")
    spans = [(lo, min(n, lo + options.batch_records)) for lo in range(0, n, options.batch_records)]
    images = 0
    options.progress.start("index", n, "records")
    try:
        with atomic_writer(out) as fh, ipc.new_file(fh, schema.index_schema(meta)) as writer:
            for (lo, hi), derived in zip(spans, _derive_all(records, spans, options.jobs), strict=True):
                writer.write_batch(_batch(records.raw[lo:hi], derived))
                images += sum(derived.has_image)
                options.progress.advance("index", hi - lo)
    finally:
        options.progress.finish("index")
    report = IndexReport(out, n, images, n - images, out.stat().st_size, time.perf_counter() - started)
    log.info("indexed %d records of %s into %s in %.1fs", n, mix, out, report.seconds)
    return report


def _derive_all(records: MixFile, spans: list[tuple[int, int]], jobs: int) -> Iterator[_Derived]:
    if jobs <= 1:
        yield from (_derive(records, lo, hi) for lo, hi in spans)
        return
    # spawn, not fork: the parent may already run pyarrow threads, which a forked child must not inherit
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(jobs, mp_context=ctx, initializer=_open_in_worker, initargs=(str(records.path),)) as pool:
        yield from pool.map(_derive_in_worker, spans)


_worker_records: MixFile | None = None  # each worker process maps the mix once, in its initializer


def _open_in_worker(path: str) -> None:
    global _worker_records
    _worker_records = MixFile(path)


def _derive_in_worker(span: tuple[int, int]) -> _Derived:
    if _worker_records is None:
        raise RuntimeError("index worker started without its mix file")
    return _derive(_worker_records, *span)


def _derive(records: MixFile, lo: int, hi: int) -> _Derived:
    derived = _Derived()
    decode = _decoder.decode
    for i in range(lo, hi):
        try:
            rec = decode_with(decode, records.raw[i], records.path, i)
        except msgspec.ValidationError as exc:
            raise MixFormatError(
                f"{records.path}: record {i} cannot be indexed ({exc}): each record needs a 'conversations' list "
                f"of {{from, value}} objects with string values; run `llavamix verify {records.path} --root ROOT "
                "--write-clean CLEAN.json` and index the clean file"
            ) from None
        derived.add(rec)
    return derived


def _batch(raws: list[msgspec.Raw], derived: _Derived) -> pa.RecordBatch:
    pa = require("pyarrow")
    np = require("numpy")
    offsets = np.zeros(len(raws) + 1, dtype=np.int64)
    np.cumsum([len(r) for r in raws], out=offsets[1:])
    raw = pa.LargeBinaryArray.from_buffers(
        pa.large_binary(), len(raws), [None, pa.py_buffer(offsets), pa.py_buffer(b"".join(raws))]
    )
    columns = [
        raw,
        pa.array(derived.id_int, pa.int64()),
        pa.array(derived.id_str, pa.string()),
        pa.array(derived.has_image, pa.bool_()),
        pa.array(derived.image, pa.string()),
        pa.array(derived.lengths, pa.int32()),
        pa.array(derived.modality_lengths, pa.int32()),
    ]
    return pa.RecordBatch.from_arrays(columns, schema=schema.index_schema())


def _is_int64(value: Any) -> bool:
    # bool is an int subclass but a different JSON type; ids past int64 keep their value in the raw bytes only
    return type(value) is int and -(2**63) <= value < 2**63
