"""Build the memory-mappable mix index (``llavamix index``) from a mix JSON, one record batch at a time."""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import msgspec

from llavamix.foundation.errors import ConfigError, MixFormatError
from llavamix.foundation.formats.index import IndexColumns, open_writer
from llavamix.foundation.io import same_file
from llavamix.foundation.records import MixFile, decode_with
from llavamix.foundation.storage import StorageOptions, Target, check_output, is_url, local_input, local_output
from llavamix.foundation.tasks import NULL_PROGRESS, Progress

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IndexOptions:
    """``batch_records``: records per Arrow record batch (memory stays flat at about one batch);
    ``jobs``: processes that decode records and count words while the main process writes."""

    batch_records: int = 65_536
    jobs: int = 1
    progress: Progress = field(default=NULL_PROGRESS, compare=False)
    storage_options: StorageOptions = field(default_factory=dict)  # fsspec options for a mix or index URL


@dataclass(frozen=True)
class IndexReport:
    path: Target
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


def build_index(mix: Target, out: Target, options: IndexOptions | None = None) -> IndexReport:
    """Write the index of ``mix`` to ``out`` atomically (either may be a URL: an index is uploaded whole once
    complete); raises MixFormatError naming the first bad record."""
    options = options or IndexOptions()
    if options.batch_records < 1 or options.jobs < 1:
        raise ConfigError("index: batch_records and jobs must be at least 1")
    if str(out) == str(mix) or (not is_url(mix) and not is_url(out) and same_file(Path(out), Path(mix))):
        raise ConfigError(
            f"index output {out} is the mix itself; write the index to another file, e.g. {_idx_name(mix)}"
        )
    check_output(out, options.storage_options)
    with local_input(mix, options.storage_options) as source, local_output(out, options.storage_options) as target:
        report = _build(source, target, options)
    return dataclasses.replace(report, path=out)


def _idx_name(mix: Target) -> str:
    return str(mix).rsplit(".", 1)[0] + ".idx" if "." in PurePosixPath(str(mix)).name else f"{mix}.idx"


def _build(mix: Path, out: Path, options: IndexOptions) -> IndexReport:
    started = time.perf_counter()
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
