"""``compute_stats``: composition, turns, sampler lengths, and (with a data root) image sizes and visual tokens."""

from __future__ import annotations

import functools
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import msgspec
from PIL import Image

from llavamix.catalog import known_prefixes
from llavamix.foundation.errors import ConfigError
from llavamix.foundation.io import open_regular
from llavamix.foundation.layout import Layout, escape_problem, image_prefix
from llavamix.foundation.records import Record, decode_with, iter_windows
from llavamix.foundation.records.anyres import visual_tokens
from llavamix.foundation.records.groups import TEXT_ONLY, UNKNOWN
from llavamix.foundation.records.lengths import sample_lengths
from llavamix.foundation.storage import StorageOptions, Target, is_url, local_input
from llavamix.foundation.tasks import NULL_PROGRESS, Engine, Progress, run_tasks
from llavamix.stats.report import SourceStats, StatsReport

_record = msgspec.json.Decoder(Record)


@dataclass(frozen=True)
class StatsOptions:
    jobs: int | None = None  # processes reading image headers (default: all cores)
    progress: Progress = NULL_PROGRESS
    storage_options: StorageOptions = field(default_factory=dict)  # fsspec options for a mix given by URL
    engine: Engine = field(default=run_tasks, compare=False)  # runs the image-header chunks


def compute_stats(mix: Target, root: Path | None = None, options: StatsOptions = StatsOptions()) -> StatsReport:
    """Describe ``mix`` (a path or a URL); with the data ``root``, also read every unique image's header (no pixel
    decoding)."""
    if not is_url(mix) and not Path(mix).is_file():
        raise ConfigError(f"mix JSON {mix} not found; pass the path of the mix file (a JSON array)")
    with local_input(mix, options.storage_options) as local:
        return _compute(local, StatsReport(str(mix)), root, options)


def _compute(mix: Path, report: StatsReport, root: Path | None, options: StatsOptions) -> StatsReport:
    images: dict[str, str] = {}  # unique image path -> source
    for window in iter_windows(mix):
        for i, raw in enumerate(window.raws, window.first):
            _add_record(report, _record_or_none(mix, i, raw), images)
    report.images = len(images)
    for source in images.values():
        report.by_source[source].images += 1
    if root is not None:
        _add_images(report, Layout(Path(root)), list(images), options)
    return report


def _record_or_none(mix: Path, i: int, raw: msgspec.Raw) -> Record | None:
    """Record ``i``, or None when it is well-formed JSON of another shape (counted as malformed); bytes that are
    not JSON at all (not UTF-8, nested too deep) make the whole file unreadable: MixFormatError."""
    try:
        return decode_with(_record.decode, raw, mix, i)
    except msgspec.ValidationError:
        return None


def _add_record(report: StatsReport, rec: Record | None, images: dict[str, str]) -> None:
    report.records += 1
    if rec is None:
        report.malformed += 1
        return
    has_image = rec.has_image
    if isinstance(rec.image, str):
        known = known_prefixes()
        prefix = image_prefix(rec.image, known)
        source = known.get(prefix, prefix)
        images.setdefault(rec.image, source)
    else:
        prefix = source = TEXT_ONLY if not has_image else UNKNOWN
    entry = report.by_source.setdefault(source, SourceStats())
    entry.records += 1
    entry.prefixes.add(prefix)
    report.with_image += has_image
    report.text_only += not has_image
    length, modality = sample_lengths([t.value for t in rec.conversations], has_image)
    report.turns.append(min(len(rec.conversations), 65535))
    report.lengths.append(length)
    report.modality_lengths.append(modality)


def _add_images(report: StatsReport, layout: Layout, paths: list[str], options: StatsOptions) -> None:
    inside = [p for p in paths if escape_problem(p) is None]
    report.outside_root = len(paths) - len(inside)  # never opened: they name files outside the data root
    report.unreadable += report.outside_root
    paths = inside
    jobs = max(1, options.jobs or os.cpu_count() or 1)
    size = max(16, min(1024, len(paths) // (jobs * 8) or 1))
    chunks = [paths[k : k + size] for k in range(0, len(paths), size)]
    options.progress.start("image headers", len(paths), "images")
    work = functools.partial(read_sizes, os.fspath(layout.root))
    result = options.engine(
        chunks,
        work,
        key=lambda c: c[0],
        jobs=jobs,
        pool="process" if jobs > 1 and len(chunks) > 1 else "thread",
        on_outcome=lambda o: options.progress.advance("image headers", len(o.value or ())),
    )
    options.progress.finish("image headers")
    for chunk, outcome in zip(chunks, result.outcomes, strict=True):
        for size_ in outcome.value or [None] * len(chunk):
            if size_ is None:
                report.unreadable += 1
            else:
                report.sizes.append(size_)
                report.visual_tokens.append(visual_tokens(size_))


def read_sizes(root: str, rels: list[str]) -> list[tuple[int, int] | None]:
    """(width, height) from each image's header, without decoding pixels; None when it cannot be opened.

    ``rels`` stay inside ``root`` (checked by the caller); only regular files are opened, so a FIFO or a link to a
    device is unreadable rather than a hang or an endless read.
    """
    out: list[tuple[int, int] | None] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a huge header is still a size worth reporting
        for rel in rels:
            path = os.path.join(root, rel)  # noqa: PTH118 - as training joins
            try:
                with open_regular(path) as fh, Image.open(fh) as im:
                    out.append(im.size)
            except (OSError, ValueError, Image.DecompressionBombError):
                out.append(None)
    return out
