"""The composition root of acquisition: fetch -> extract -> fix-ups -> quick verify, and the status of a data root.

Each source runs as one resumable task (download, then extract), so downloads and extractions of different
sources overlap, a failed source never stops the others, and a rerun skips what finished. Both entry points that
write (``prepare``, ``fetch_missing``) hold the lock of the data root and of the downloads folder while they run.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from llavamix import extract, fetch, lock, mix, verify
from llavamix.catalog import Catalog, Source, resolve_names
from llavamix.io import PART_SUFFIX, ensure_writable
from llavamix.layout import MIX_JSON, Layout
from llavamix.tasks import CANCEL, NULL_PROGRESS, Outcome, Progress, run_tasks

log = logging.getLogger(__name__)

State = Literal["present", "partial", "missing"]
MIX_KIND, CRAWL_KIND = "mix_json", "ocrvqa"


@dataclass(frozen=True)
class PrepareOptions:
    jobs: int = 4
    downloads: Path | None = None
    keep_archives: bool = False
    deep: bool = False
    verify: bool = True
    fetch: fetch.FetchOptions = field(default_factory=fetch.FetchOptions)
    progress: Progress = NULL_PROGRESS


@dataclass(frozen=True)
class SourceResult:
    name: str
    status: Literal["done", "skipped", "failed"]
    error: str | None = None
    extracted: extract.Extracted | None = None


@dataclass
class PrepareReport:
    root: Path
    sources: list[SourceResult]
    aliases: list[mix.Alias]
    verify: verify.VerifyReport | None = None
    add_path: mix.AddPath | None = None  # the pretraining JSON with full image paths, when the 558K JSON is there
    crawls: dict[str, fetch.CrawlReport] = field(default_factory=dict)  # crawled sources of this run, by name

    @property
    def failed(self) -> list[SourceResult]:
        return [s for s in self.sources if s.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failed and (self.verify is None or not self.verify.error_count)


def prepare(
    catalog: Catalog, names: Sequence[str], root: Path, options: PrepareOptions = PrepareOptions()
) -> PrepareReport:
    """Bring every named source (default: all) to its final place under ``root``; idempotent and resumable.

    Raises InUseError at once when another run holds the root or the downloads folder.
    """
    layout = Layout(root, options.downloads)
    sources = resolve_names(catalog, list(names))
    with writing(layout):
        return _prepare(catalog, sources, layout, options)


def _prepare(catalog: Catalog, sources: list[Source], layout: Layout, options: PrepareOptions) -> PrepareReport:
    root = layout.root
    acquire = _Acquire(catalog, sources, layout, options)
    report = run_tasks(sources, acquire, key=lambda s: s.name, jobs=options.jobs, is_done=acquire.is_done)
    results = [_source_result(o, sources, layout) for o in report.outcomes]
    aliases = fix_layout(root)
    add_path = mix.write_add_path(root)
    checked = _quick_verify(root, options) if options.verify else None
    return PrepareReport(root, results, aliases, checked, add_path, acquire.crawls)


@contextlib.contextmanager
def writing(layout: Layout) -> Iterator[None]:
    """Hold the locks of ``layout``'s root and downloads folder for the block: never two writers on either.

    The downloads folder has its own lock because several roots may share one (``--downloads``).
    """
    ensure_writable(layout.root, "data root")
    ensure_writable(layout.downloads_dir, "downloads folder")
    with (
        lock.hold(layout.lock, f"data root {layout.root}"),
        lock.hold(layout.downloads_lock, f"downloads folder {layout.downloads_dir}"),
    ):
        yield


class _Acquire:
    """One source's task: download, then extract. A crawl (OCR-VQA) waits for the mix JSON it picks keys from
    when that is being acquired in the same run; catalog order puts the mix first, so it is never left waiting
    on a task that has not started."""

    def __init__(self, catalog: Catalog, sources: list[Source], layout: Layout, options: PrepareOptions) -> None:
        self.layout, self.options = layout, options
        self.fetch_options = replace(options.fetch, progress=options.progress)
        self.limiter = fetch.HostLimiter(catalog.hosts, self.fetch_options.host_connections)
        self.extract_options = extract.ExtractOptions(keep_archive=options.keep_archives, progress=options.progress)
        self.crawls: dict[str, fetch.CrawlReport] = {}
        self.mix_ready = threading.Event()
        if not _mix_comes_first(sources, lambda s: extract.is_extracted(s, layout)):
            self.mix_ready.set()

    def is_done(self, src: Source) -> bool:
        return _laid_out(src, self.layout, self.options.fetch.crawl.all_keys)

    def __call__(self, src: Source) -> extract.Extracted:
        if src.kind == CRAWL_KIND:
            while not self.mix_ready.wait(0.5):
                CANCEL.check()  # a stop request must not leave this task waiting
        try:
            fetched = fetch.fetch_source(src, self.layout, self.fetch_options, limiter=self.limiter)
            if fetched.crawl is not None:
                self.crawls[src.name] = fetched.crawl
            return extract.extract_source(src, fetched.path, self.layout, self.extract_options)
        finally:
            if src.kind == MIX_KIND:  # laid out, or failed: either way a waiting crawl may go on
                self.mix_ready.set()


def _laid_out(src: Source, layout: Layout, all_keys: bool) -> bool:
    if src.kind == CRAWL_KIND and all_keys:
        return False  # a finished crawl of the mix's keys is not one of every key
    return extract.is_extracted(src, layout)


def fetch_missing(
    catalog: Catalog, names: Sequence[str], layout: Layout, options: fetch.FetchOptions
) -> tuple[fetch.FetchReport, list[str]]:
    """Fetch the named sources that are not laid out yet; returns the report and the names skipped as laid out.

    A source ``prepare`` already extracted has no archive to keep any more; downloading it again would only
    cost time and disk.
    """
    sources = resolve_names(catalog, list(names))
    with writing(layout):
        skipped = [s.name for s in sources if _laid_out(s, layout, options.crawl.all_keys)]
        todo = [s for s in sources if s.name not in skipped]
        return fetch.fetch_sources(todo, layout, options, catalog.hosts), skipped


def _mix_comes_first(sources: list[Source], done: Callable[[Source], bool]) -> bool:
    """Whether an unfinished mix JSON source precedes the first crawl source (so a crawl must wait for it)."""
    for src in sources:
        if src.kind == CRAWL_KIND:
            return False
        if src.kind == MIX_KIND and not done(src):
            return True
    return False


def _source_result(outcome: Outcome[extract.Extracted], sources: list[Source], layout: Layout) -> SourceResult:
    if outcome.status == "skipped":
        src = next(s for s in sources if s.name == outcome.key)
        return SourceResult(outcome.key, "skipped", extracted=extract.read_extracted(src, layout))
    return SourceResult(outcome.key, outcome.status, outcome.error, outcome.value)


def fix_layout(root: Path) -> list[mix.Alias]:
    """Create the aliases the mix JSON and the training scripts need for whatever is laid out under ``root``."""
    return mix.fix_spellings(root)


def _quick_verify(root: Path, options: PrepareOptions) -> verify.VerifyReport | None:
    mix_path = root / MIX_JSON
    if not mix_path.exists():
        return None
    opts = verify.VerifyOptions(deep=options.deep, jobs=options.jobs, progress=options.progress)
    return verify.verify_mix(mix_path, root, opts)


# --- status ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceStatus:
    source: Source
    state: State
    images: int | None = None  # files found in the source's folders (present sources only)
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        s = self.source
        return {
            "name": s.name,
            "title": s.title,
            "size": s.size,
            "target": s.into,
            "state": self.state,
            "images": self.images,
            "images_expected": s.images,
            "detail": self.detail,
        }


def source_status(catalog: Catalog, root: Path, downloads: Path | None = None) -> list[SourceStatus]:
    """present (extracted, image count as expected), partial (work started or images short) or missing."""
    layout = Layout(root, downloads)
    return [_status_of(src, layout) for src in catalog.sources]


def _status_of(src: Source, layout: Layout) -> SourceStatus:
    done = extract.read_extracted(src, layout)
    if done is not None:
        found = sum(_count_files(layout.root / r) for r in done.roots)
        if src.images is not None and found < src.images:
            return SourceStatus(src, "partial", found, f"{found:,} of {src.images:,} images")
        return SourceStatus(src, "present", found)
    if _started(src, layout):
        return SourceStatus(src, "partial", None, "download or extraction started; rerun prepare to finish")
    return SourceStatus(src, "missing")


def _started(src: Source, layout: Layout) -> bool:
    download = layout.download_path(src.name, src.file_name)
    partial = download.with_name(download.name + PART_SUFFIX)
    return download.exists() or partial.exists() or layout.staging(src.name).exists()


def _count_files(folder: Path) -> int:
    if folder.is_file():
        return 1
    total = 0
    for _, _, files in os.walk(folder):
        total += len(files)
    return total
