"""``verify_mix``: the record pass, then the image pass over each unique image, assembled into a VerifyReport."""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from llavamix.foundation.errors import ConfigError, MixFormatError
from llavamix.foundation.layout import Layout
from llavamix.foundation.records import iter_windows, plan_spans
from llavamix.foundation.records.imagefile import locate_image
from llavamix.foundation.records.problem import Problem
from llavamix.foundation.storage import StorageOptions, Target, is_url, local_input
from llavamix.foundation.tasks import NULL_PROGRESS, Engine, Progress, run_tasks
from llavamix.verify.cache import CACHE_NAME, ImageCache
from llavamix.verify.images import (
    DEFAULT_MAX_PIXELS,
    DEFAULT_TINY,
    OK,
    ImageCheck,
    Limits,
    inspect_many,
)
from llavamix.verify.report import Profile, SourceCount, VerifyReport
from llavamix.verify.scan import RecordScan, rebase, scan_nominal, scan_raws, scan_span

log = logging.getLogger(__name__)

RECORDS_KEY, IMAGES_KEY = "verify records", "verify images"


@dataclass(frozen=True)
class VerifyOptions:
    """How to verify: ``deep`` decodes every image; ``jobs`` worker processes (default: all cores);
    ``cache`` reuses deep verdicts of unchanged files; ``profile`` collects the figures ``write_html`` plots;
    ``storage_options``: fsspec options for a mix given by URL; ``engine`` runs the record windows and image
    chunks (``run_tasks``, or the Ray Data engine of ``llavamix.ray``)."""

    deep: bool = False
    jobs: int | None = None
    cache: bool = True
    tiny: int = DEFAULT_TINY
    max_pixels: int = DEFAULT_MAX_PIXELS
    profile: bool = False
    progress: Progress = NULL_PROGRESS
    storage_options: StorageOptions = field(default_factory=dict)
    engine: Engine = field(default=run_tasks, compare=False)

    @property
    def workers(self) -> int:
        return max(1, self.jobs or os.cpu_count() or 1)


def verify_mix(mix: Target, root: Path, options: VerifyOptions = VerifyOptions()) -> VerifyReport:
    """Check every record of ``mix`` (a path or a URL) and every image it references under the data ``root``."""
    if not is_url(mix) and not Path(mix).is_file():
        raise ConfigError(f"mix JSON {mix} not found; pass the path of the mix file (a JSON array)")
    with local_input(mix, options.storage_options) as local:
        return _verify(local, str(mix), root, options)


def _verify(mix: Path, name: str, root: Path, options: VerifyOptions) -> VerifyReport:
    scans = _record_pass(mix, options)
    images, refs = _unique_images(scans)
    checks = _image_pass(Layout(Path(root)), images, options)
    report = VerifyReport(name, str(root), options.deep, images=len(images))
    _assemble(report, scans, refs, images, checks)
    if options.profile:
        report.profile = _profile(scans, checks)
    log.info("verified %d records, %d images: %d ok", report.records, report.images, report.ok)
    return report


def _record_pass(mix: Path, options: VerifyOptions) -> list[RecordScan]:
    size = mix.stat().st_size
    options.progress.start(RECORDS_KEY, size, "B")
    try:
        if options.workers == 1:
            scans = []
            for w in iter_windows(mix):
                scans.append(scan_raws(w.raws, w.first, options.profile, mix=mix))
                options.progress.advance(RECORDS_KEY, w.end - w.start if w.start >= 0 else size)
            return scans
        return _record_pass_spans(mix, options) or _record_pass_parallel(mix, options)
    finally:
        options.progress.finish(RECORDS_KEY)


def _record_pass_spans(mix: Path, options: VerifyOptions) -> list[RecordScan] | None:
    """Workers read byte spans of the file on their own, so nothing runs serially in this process; None when a
    span did not parse (malformed JSON, or a span end inside a string), to retry with validated windows."""
    spans = plan_spans(mix)
    sizes = {str(lo): hi - lo for lo, hi in spans}
    work = functools.partial(scan_nominal, mix, profile=options.profile)
    report = options.engine(
        spans,
        work,
        key=lambda s: str(s[0]),
        jobs=options.workers,
        pool="process",
        on_outcome=lambda o: options.progress.advance(RECORDS_KEY, sizes[o.key]),
    )
    unread = [o.value.error if o.value else o.error for o in report.outcomes if not o.value or o.value.error]
    if unread:
        log.info("span read failed (%s); re-reading in validated windows", unread[0])
        return None
    first, scans = 0, []
    for outcome in report.outcomes:
        if outcome.value is not None:
            scans.append(rebase(outcome.value, first))
            first = scans[-1].hi
    return scans


def _record_pass_parallel(mix: Path, options: VerifyOptions) -> list[RecordScan]:
    inline: list[RecordScan] = []  # the rare window that cannot be re-read by span is checked here
    sizes: dict[str, int] = {}

    def spans() -> Iterator[tuple[int, int, int]]:  # windows are validated and released one at a time
        for w in iter_windows(mix):
            if w.start < 0:
                inline.append(scan_raws(w.raws, w.first, options.profile, mix=mix))
            else:
                sizes[str(w.first)] = w.end - w.start
                yield (w.start, w.end, w.first)

    work = functools.partial(scan_span, mix, profile=options.profile)
    report = options.engine(
        spans(),
        work,
        key=lambda s: str(s[2]),
        jobs=options.workers,
        pool="process",
        on_outcome=lambda o: options.progress.advance(RECORDS_KEY, sizes.get(o.key, 0)),
    )
    for outcome in report.failed:
        if isinstance(outcome.failure, MixFormatError):  # it already names the file and the fix
            raise outcome.failure
        raise MixFormatError(f"{mix}: record check failed: {outcome.error}") from outcome.failure
    scans = [o.value for o in report.outcomes if o.value is not None]
    for scan in scans:
        if scan.error:
            raise MixFormatError(scan.error)
    return sorted(scans + inline, key=lambda s: s.lo)


def _unique_images(scans: list[RecordScan]) -> tuple[list[str], list[list[int]]]:
    """All unique image paths, and per scan the map from its local image numbers to positions in that list."""
    index: dict[str, int] = {}
    refs = []
    for scan in scans:
        refs.append([index.setdefault(p, len(index)) for p in scan.images])
    return list(index), refs


def _image_pass(layout: Layout, images: list[str], options: VerifyOptions) -> list[ImageCheck]:
    limits = Limits(options.tiny, options.max_pixels)
    cache = ImageCache(layout.cache(CACHE_NAME) if options.cache and options.deep else None, limits)
    checks: list[ImageCheck] = [OK] * len(images)
    todo: list[tuple[int, str, os.stat_result]] = []
    options.progress.start(IMAGES_KEY, len(images), "images")
    root = os.fspath(layout.root)
    for i, rel in enumerate(images):
        bad, st = _locate(root, rel)
        if bad is not None or st is None:
            checks[i] = bad or OK
        elif options.deep:
            hit = cache.get(rel, st)
            if hit is None:
                todo.append((i, rel, st))
            else:
                checks[i] = hit
    options.progress.advance(IMAGES_KEY, len(images) - len(todo))
    if todo:
        _decode_images(layout, todo, checks, cache, options)
        cache.save()
    options.progress.finish(IMAGES_KEY)
    return checks


def _locate(root: str, rel: str) -> tuple[ImageCheck | None, os.stat_result | None]:
    """The quick verdict on one record path; a path outside the root is judged without touching the file."""
    found = locate_image(root, rel)
    return (None if found.code is None else ImageCheck(found.code, found.detail)), found.stat


def _decode_images(
    layout: Layout,
    todo: list[tuple[int, str, os.stat_result]],
    checks: list[ImageCheck],
    cache: ImageCache,
    options: VerifyOptions,
) -> None:
    limits = Limits(options.tiny, options.max_pixels)
    jobs = options.workers
    size = max(8, min(256, len(todo) // (jobs * 16)))  # small tasks balance load; big ones amortise overhead
    chunks = [todo[k : k + size] for k in range(0, len(todo), size)]
    work = functools.partial(_inspect_chunk, os.fspath(layout.root), limits=limits)
    report = options.engine(
        [[rel for _, rel, _ in c] for c in chunks],
        work,
        key=lambda c: c[0],
        jobs=jobs,
        pool="process" if jobs > 1 else "thread",
        on_outcome=lambda o: options.progress.advance(IMAGES_KEY, len(o.value or ())),
    )
    for chunk, outcome in zip(chunks, report.outcomes, strict=True):
        results = outcome.value or [ImageCheck("undecodable", f"decoder crashed: {outcome.error}")] * len(chunk)
        for (i, rel, st), check in zip(chunk, results, strict=True):
            checks[i] = check
            if outcome.value is not None:
                cache.put(rel, st, check)


def _inspect_chunk(root: str, rels: list[str], limits: Limits) -> list[ImageCheck]:
    # joined exactly as training joins image_folder and image; paths that leave the root never get here
    return inspect_many([os.path.join(root, rel) for rel in rels], limits)  # noqa: PTH118


def _assemble(
    report: VerifyReport, scans: list[RecordScan], refs: list[list[int]], images: list[str], checks: list[ImageCheck]
) -> None:
    seen_ids: set = set()
    for scan, ref in zip(scans, refs, strict=True):
        sources = [report.by_source.setdefault(name, SourceCount()) for name in scan.sources]
        for k in scan.source_ref:
            sources[k].records += 1
        problems = [Problem(i, scan.ids[i - scan.lo], code, None, detail) for i, code, detail in scan.findings]
        problems += _image_problems(scan, ref, images, checks)
        problems += _duplicate_ids(scan, seen_ids)
        problems.sort(key=lambda p: p.index)
        for p in problems:
            if p.is_error:
                sources[scan.source_ref[p.index - scan.lo]].errors += 1
        report.problems += problems
        report.records += scan.hi - scan.lo
    report.ok = report.records - len({p.index for p in report.problems if p.is_error})


def _image_problems(scan: RecordScan, ref: list[int], images: list[str], checks: list[ImageCheck]) -> list[Problem]:
    bad = {local for local, g in enumerate(ref) if checks[g].code is not None}
    if not bad:
        return []
    out = []
    for k, local in enumerate(scan.image_ref):
        if local in bad:
            check = checks[ref[local]]
            out.append(Problem(scan.lo + k, scan.ids[k], check.code or "", images[ref[local]], check.detail))
    return out


def _duplicate_ids(scan: RecordScan, seen: set) -> list[Problem]:
    try:  # fast path, all in C: every id of the window is new
        new = set(scan.ids)
        new.discard(None)
        if len(new) == len(scan.ids) - scan.ids.count(None) and seen.isdisjoint(new):
            seen |= new
            return []
    except TypeError:  # an id that is a JSON array or object
        pass
    out = []
    for k, rid in enumerate(scan.ids):
        if rid is None:
            continue
        key = rid if isinstance(rid, (int, str, float)) else repr(rid)
        if key in seen:
            out.append(Problem(scan.lo + k, rid, "duplicate_id", None, f"id {rid!r} was used before"))
        else:
            seen.add(key)
    return out


def _profile(scans: list[RecordScan], checks: list[ImageCheck]) -> Profile:
    profile = Profile()
    for scan in scans:
        profile.turns.extend(t for t in scan.turns if t)
        profile.words.extend(w for w, t in zip(scan.words, scan.turns, strict=True) if t)
    profile.sizes = [(c.width, c.height) for c in checks if c.width and c.height]
    return profile
