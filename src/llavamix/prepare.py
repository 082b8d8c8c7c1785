"""The composition root of acquisition: fetch -> extract -> fix-ups -> quick verify, and the status of a data root.

Each source runs as one resumable task of the one task loop: its recipe (``llavamix.recipes``, picked by the
source's kind) fetches it, then lays it out. Downloads and extractions of different sources overlap, a failed
source never stops the others, a rerun skips what finished, and a source starts only once the sources it
``needs`` are laid out (a source whose need failed is not run). Both entry points that write (``prepare``,
``fetch_missing``) hold the lock of the data root and of the downloads folder while they run.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from llavamix import extract, fetch, mix, recipes, verify
from llavamix.catalog import Catalog, Source, resolve_names
from llavamix.foundation import lock
from llavamix.foundation.io import PART_SUFFIX, ensure_writable
from llavamix.foundation.layout import MIX_JSON, Layout
from llavamix.foundation.tasks import NULL_PROGRESS, Outcome, Progress, run_tasks

log = logging.getLogger(__name__)

State = Literal["present", "partial", "missing"]


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
    failure: BaseException | None = None  # what a failed source raised (a FetchError, a NotRun...)
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
    def failures(self) -> dict[str, BaseException]:
        """Each failed source's name and what it raised."""
        return {s.name: s.failure for s in self.failed if s.failure is not None}

    @property
    def ok(self) -> bool:
        return not self.failed and (self.verify is None or not self.verify.error_count)


def prepare(
    catalog: Catalog, names: Sequence[str], root: Path, options: PrepareOptions = PrepareOptions()
) -> PrepareReport:
    """Bring every named source (default: all), and what it needs, to its final place under ``root``; idempotent
    and resumable.

    Raises InUseError at once when another run holds the root or the downloads folder.
    """
    layout = Layout(root, options.downloads)
    sources = catalog.with_needs(resolve_names(catalog, list(names)))
    with writing(layout):
        return _prepare(catalog, sources, layout, options)


def _prepare(catalog: Catalog, sources: list[Source], layout: Layout, options: PrepareOptions) -> PrepareReport:
    root = layout.root
    acquire = _Acquire(catalog, layout, options)
    report = run_tasks(
        sources, acquire, key=lambda s: s.name, jobs=options.jobs, is_done=acquire.is_done, needs=lambda s: s.needs
    )
    results = [_source_result(o, sources, layout) for o in report.outcomes]
    aliases = fix_layout(root, catalog.spellings)
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
    """One source's task: its recipe fetches it, then lays it out; crawl reports are kept for the summary."""

    def __init__(self, catalog: Catalog, layout: Layout, options: PrepareOptions) -> None:
        fetch_options = replace(options.fetch, progress=options.progress)
        self.ctx = recipes.Context(
            catalog,
            layout,
            fetch_options,
            extract.ExtractOptions(keep_archive=options.keep_archives, progress=options.progress),
            fetch.HostLimiter(catalog.hosts, fetch_options.host_connections),
        )
        self.crawls: dict[str, fetch.CrawlReport] = {}

    def is_done(self, src: Source) -> bool:
        return recipes.is_done(src, self.ctx)

    def __call__(self, src: Source) -> extract.Extracted:
        fetched = recipes.run_fetch(src, self.ctx)
        if fetched.crawl is not None:
            self.crawls[src.name] = fetched.crawl
        return recipes.run_lay_out(src, fetched.path, self.ctx)


def fetch_missing(
    catalog: Catalog, names: Sequence[str], layout: Layout, options: fetch.FetchOptions
) -> tuple[fetch.FetchReport, list[str]]:
    """Fetch the named sources that are not laid out yet, each through its recipe's fetch hook; returns the report
    and the names skipped as laid out.

    A source ``prepare`` already extracted has no archive to keep any more; downloading it again would only
    cost time and disk.
    """
    sources = resolve_names(catalog, list(names))
    ctx = recipes.Context(catalog, layout, options)

    def fetch_one(src: Source, limiter: fetch.HostLimiter) -> fetch.Fetched:
        return recipes.run_fetch(src, replace(ctx, limiter=limiter))

    with writing(layout):
        skipped = [s.name for s in sources if recipes.is_done(s, ctx)]
        todo = [s for s in sources if s.name not in skipped]
        return fetch.fetch_sources(todo, layout, options, catalog.hosts, fetch_one=fetch_one), skipped


def _source_result(outcome: Outcome[extract.Extracted], sources: list[Source], layout: Layout) -> SourceResult:
    if outcome.status == "skipped":
        src = next(s for s in sources if s.name == outcome.key)
        return SourceResult(outcome.key, "skipped", extracted=extract.read_extracted(src, layout))
    return SourceResult(outcome.key, outcome.status, outcome.failure, outcome.value)


def fix_layout(root: Path, spellings: Sequence[tuple[str, str]] = ()) -> list[mix.Alias]:
    """Create the aliases the mix JSON and the training scripts need for whatever is laid out under ``root``;
    ``spellings``: the catalog's pairs of folder names that mean one folder."""
    return mix.fix_spellings(root, spellings)


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
