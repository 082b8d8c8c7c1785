"""Build the memory-mappable mix index (``llavamix index``) from a mix JSON, one record batch at a time."""

from __future__ import annotations

import logging
import multiprocessing
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from llavamix.foundation.errors import ConfigError, MixFormatError
from llavamix.foundation.formats.index import IndexColumns, open_writer
from llavamix.foundation.io import same_file
from llavamix.foundation.records import MixFile, decode_with
from llavamix.foundation.tasks import NULL_PROGRESS, Progress

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
    spans = [(lo, min(n, lo + options.batch_records)) for lo in range(0, n, options.batch_records)]
    images = 0
    options.progress.start("index", n, "records")
    try:
        with open_writer(out, meta) as writer:
            for (lo, hi), columns in zip(spans, _derive_all(records, spans, options.jobs), strict=True):
                writer.write(records.raws[lo:hi], columns)
                images += sum(columns.has_image)
                options.progress.advance("index", hi - lo)
    finally:
        options.progress.finish("index")
    report = IndexReport(out, n, images, n - images, out.stat().st_size, time.perf_counter() - started)
    log.info("indexed %d records of %s into %s in %.1fs", n, mix, out, report.seconds)
    return report


def _derive_all(records: MixFile, spans: list[tuple[int, int]], jobs: int) -> Iterator[IndexColumns]:
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


def _derive_in_worker(span: tuple[int, int]) -> IndexColumns:
    if _worker_records is None:
        raise RuntimeError("index worker started without its mix file")
    return _derive(_worker_records, *span)


def _derive(records: MixFile, lo: int, hi: int) -> IndexColumns:
    columns = IndexColumns()
    decode = _decoder.decode
    for i in range(lo, hi):
        try:
            rec = decode_with(decode, records.raws[i], records.path, i)
        except msgspec.ValidationError as exc:
            raise MixFormatError(
                f"{records.path}: record {i} cannot be indexed ({exc}): each record needs a 'conversations' list "
                f"of {{from, value}} objects with string values; run `llavamix verify {records.path} --root ROOT "
                "--write-clean CLEAN.json` and index the clean file"
            ) from None
        columns.add([t.value for t in rec.conversations], rec.id, rec.image)
    return columns
