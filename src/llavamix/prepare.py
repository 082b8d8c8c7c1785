"""The composition root of acquisition: fetch -> extract -> fix-ups -> quick verify, and the status of a data root.

Each source runs as one resumable task of the one task loop, in two phases through its recipe
(``llavamix.recipes``, picked by the source's kind): its download, then its lay-out. The phases take turns of their
own: at most ``jobs`` downloads and ``extract_jobs`` extractions run at once, so a source is laid out as soon as
its archive is complete while other downloads go on, and a source whose archive is already there never waits for
a download's turn. Every source has its own worker (the turns, not the workers, bound the work), a failed source
never stops the others, a rerun skips what finished, and a source starts only once the sources it ``needs`` are
laid out (a source whose need failed is not run). Space is checked against what the downloads and extractions
running beside one another will still write (``extract.Claims``). Both entry points that write (``prepare``,
``fetch_missing``) hold the lock of the data root and of the downloads folder while they run.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

import msgspec

from llavamix import extract, fetch, mix, recipes, verify
from llavamix import plan as plan_mod
from llavamix.catalog import Catalog, Source, kinds, resolve_names
from llavamix.foundation import lock
from llavamix.foundation.errors import DiskSpaceError
from llavamix.foundation.io import PART_SUFFIX, ensure_writable, existing_parent, free_bytes, human_bytes
from llavamix.foundation.layout import Layout
from llavamix.foundation.tasks import CANCEL, NULL_PROGRESS, Outcome, Progress, run_tasks

log = logging.getLogger(__name__)

State = Literal["present", "partial", "missing"]
Phase = Literal["download", "extract"]
TOTAL = "all downloads"  # the progress key of the bar over every download of a run


@dataclass(frozen=True)
class PrepareOptions:
    jobs: int = 4  # downloads at once (an extraction does not take one of these turns)
    downloads: Path | None = None
    keep_archives: bool = False
    deep: bool = False
    verify: bool = True
    fetch: fetch.FetchOptions = field(default_factory=fetch.FetchOptions)
    progress: Progress = NULL_PROGRESS
    extract_jobs: int = 2  # extractions at once (never waiting for a download's turn)
    check_space: bool = True  # False: run even where the plan or a step says the disk is too small


@dataclass(frozen=True)
class SourceResult:
    name: str
    status: Literal["done", "skipped", "failed"]
    failure: BaseException | None = None  # what a failed source raised (a FetchError, a NotRun...)
    extracted: extract.Extracted | None = None
    fetched: fetch.Fetched | None = None  # its download as this run found or brought it
    seconds: Mapping[Phase, float] = field(default_factory=dict)  # time each phase took this run (ran ones only)


@dataclass
class PrepareReport:
    root: Path
    sources: list[SourceResult]
    aliases: list[mix.Alias]
    verified: list[verify.VerifyReport] = field(default_factory=list)  # each instruction mix of the run, checked
    add_path: mix.AddPath | None = None  # the pretraining JSON with full image paths, when the 558K JSON is there
    crawls: dict[str, fetch.CrawlReport] = field(default_factory=dict)  # crawled sources of this run, by name
    seconds: float = 0.0  # wall time of the downloads and lay-outs, overlapped as they ran

    @property
    def failed(self) -> list[SourceResult]:
        return [s for s in self.sources if s.status == "failed"]

    @property
    def failures(self) -> dict[str, BaseException]:
        """Each failed source's name and what it raised."""
        return {s.name: s.failure for s in self.failed if s.failure is not None}

    @property
    def ok(self) -> bool:
        return not self.failed and not any(v.error_count for v in self.verified)

    def phase_seconds(self, phase: Phase) -> float:
        """The time the sources spent in ``phase``, added up (more than ``seconds`` where they overlapped)."""
        return sum(s.seconds.get(phase, 0.0) for s in self.sources)


def prepare(
    catalog: Catalog,
    names: Sequence[str],
    root: Path,
    options: PrepareOptions = PrepareOptions(),
    plan: plan_mod.RunPlan | None = None,
) -> PrepareReport:
    """Bring every named source (default: all), and what it needs, to its final place under ``root``; idempotent
    and resumable. ``plan``: the run's plan already made (``plan_prepare``), else it is made first.

    Raises InUseError at once when another run holds the root or the downloads folder, DiskSpaceError before any
    download when the plan's peak disk use does not fit (unless ``options.check_space`` is False).
    """
    layout = Layout(root, options.downloads)
    sources = _run_sources(catalog, names)
    with writing(layout):
        return _prepare(catalog, sources, layout, options, plan)


def _run_sources(catalog: Catalog, names: Sequence[str]) -> list[Source]:
    """The named sources and what they need; a malformed URL stops the run before any source starts."""
    sources = catalog.with_needs(resolve_names(catalog, list(names)))
    for src in sources:
        fetch.check_url(src)
    return sources


def plan_prepare(
    catalog: Catalog, names: Sequence[str], root: Path, options: PrepareOptions = PrepareOptions()
) -> plan_mod.RunPlan:
    """What ``prepare`` of ``names`` would download and write, against the free space; reads and writes nothing
    under the root (each server is asked for its file's size)."""
    layout = Layout(root, options.downloads)
    sources = _run_sources(catalog, names)
    ctx = recipes.Context(catalog, layout, options.fetch)
    return plan_mod.plan_run(sources, ctx, keep_archives=options.keep_archives)


def _prepare(
    catalog: Catalog, sources: list[Source], layout: Layout, options: PrepareOptions, plan: plan_mod.RunPlan | None
) -> PrepareReport:
    root = layout.root
    acquire = _Acquire(catalog, layout, options, sources)
    if plan is None:
        plan = plan_mod.plan_run(sources, acquire.ctx, keep_archives=options.keep_archives)
    if options.check_space and not plan.fits:
        raise DiskSpaceError(plan.shortfall())  # before any byte is fetched
    began = time.monotonic()
    with acquire.shown.expecting(acquire.downloads_of(sources, plan)):
        # a worker per source: the turns of each phase, not the workers, bound the work (see ``_Acquire``)
        report = run_tasks(
            sources,
            acquire,
            key=lambda s: s.name,
            jobs=len(sources),
            is_done=acquire.is_done,
            needs=catalog.waits_for,
        )
    seconds = time.monotonic() - began
    results = [acquire.result(o, sources) for o in report.outcomes]
    aliases = fix_layout(root, catalog.spellings)
    add_path = mix.write_add_path(root)
    checked = _quick_verify(_mixes_of(sources, layout), root, options) if options.verify else []
    return PrepareReport(root, results, aliases, checked, add_path, acquire.crawls, seconds)


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
    """One source's task: its download (in a download's turn, unless there is nothing to transfer), then its
    lay-out (in an extraction's turn); what each phase took and the crawl reports are kept for the summary.

    The turns are separate so that neither phase waits on the other's work: a slow download never holds up the
    extraction of an archive that is complete, and an extraction never holds up the next download.
    """

    def __init__(self, catalog: Catalog, layout: Layout, options: PrepareOptions, run: Sequence[Source]) -> None:
        self.claims = extract.Claims()
        self.shown = Shown(options.progress, self.claims)
        fetch_options = replace(options.fetch, progress=self.shown.phase("download"))
        self.ctx = recipes.Context(
            catalog,
            layout,
            fetch_options,
            extract.ExtractOptions(
                keep_archive=options.keep_archives,
                check_space=options.check_space,
                progress=self.shown.phase("extract"),
                claims=self.claims,
            ),
            fetch.HostLimiter(catalog.hosts, fetch_options.host_connections),
        )
        self.turns: dict[Phase, Turns] = {"download": Turns(options.jobs), "extract": Turns(options.extract_jobs)}
        self.crawls: dict[str, fetch.CrawlReport] = {}
        self.fetched: dict[str, fetch.Fetched] = {}
        self.seconds: dict[str, dict[Phase, float]] = {}
        self.done = plan_mod.done_in_run(run, self.ctx)  # once, before the run changes what is done

    def is_done(self, src: Source) -> bool:
        """Done, and so is every source of this run it waits for (``plan.done_in_run``)."""
        return src.name in self.done

    def downloads_of(self, sources: Sequence[Source], plan: plan_mod.RunPlan) -> dict[str, int | None]:
        """The sources this run will download, with their sizes where the plan knows them."""
        sizes = {p.name: p.download for p in plan.sources}
        todo = (s for s in sources if not self.is_done(s) and not recipes.is_fetched(s, self.ctx))
        return {s.name: sizes.get(s.name, s.size) for s in todo}

    def __call__(self, src: Source) -> extract.Extracted:
        fetched = self.fetch(src)
        try:
            if src.archive != "none" and not self.ctx.extract_options.keep_archive:
                self.claims.frees(src.name, fetched.path)  # deleted once laid out: downloads may wait for it
            with self.phase(src.name, "extract"):
                return recipes.run_lay_out(src, fetched.path, self.ctx)
        finally:
            self.claims.release(src.name)

    def fetch(self, src: Source) -> fetch.Fetched:
        if recipes.is_fetched(src, self.ctx):
            fetched = recipes.run_fetch(src, self.ctx)  # nothing to transfer: no download's turn to wait for
        else:
            with self.phase(src.name, "download"):
                self.claim_download(src)
                fetched = recipes.run_fetch(src, self.ctx)
        self.fetched[src.name] = fetched
        if fetched.crawl is not None:
            self.crawls[src.name] = fetched.crawl
        return fetched

    @contextlib.contextmanager
    def phase(self, name: str, phase: Phase) -> Iterator[None]:
        """Run the block in one of ``phase``'s turns, timed; its space claims end with it."""
        with self.turns[phase].hold():
            began = time.monotonic()
            try:
                yield
            finally:
                self.claims.release(name)
                self.seconds.setdefault(name, {})[phase] = time.monotonic() - began

    def claim_download(self, src: Source) -> None:
        """Claim the bytes ``src``'s download has yet to receive, once they fit beside what the downloads and
        extractions running with it will still write, with room for its extraction too where that lands on the
        same filesystem (about the archive's size: image archives hardly compress); DiskSpaceError when they
        do not fit even once nothing else runs."""
        layout = self.ctx.layout
        dest = layout.download_path(src.name, src.file_name)
        left = _left_to_download(src, dest)
        if not left or not self.ctx.extract_options.check_space:
            return
        later = (src.size or 0) if _extracts_beside(src, dest, layout.target(src.into)) else 0
        owed = self.claims.claim(src.name, dest, left, also=later, download=True)
        free = free_bytes(dest.parent)
        if left + later > free - owed:
            raise DiskSpaceError(_no_room(dest, left, later, free, owed))

    def result(self, outcome: Outcome[extract.Extracted], sources: list[Source]) -> SourceResult:
        name = outcome.key
        if outcome.status == "skipped":
            src = next(s for s in sources if s.name == name)
            return SourceResult(name, "skipped", extracted=extract.read_extracted(src, self.ctx.layout))
        fetched, seconds = self.fetched.get(name), self.seconds.get(name, {})
        return SourceResult(name, outcome.status, outcome.failure, outcome.value, fetched, seconds)


def _left_to_download(src: Source, dest: Path) -> int:
    """Bytes the download of ``src`` to ``dest`` has yet to receive (0 when unknown, or when a file is there to
    adopt). A part filled over several connections has holes: only its allocated blocks count as received."""
    if src.size is None or dest.exists():
        return 0
    try:
        st = dest.with_name(dest.name + PART_SUFFIX).stat()
    except OSError:
        return src.size
    return max(0, src.size - min(st.st_size, st.st_blocks * 512))


def _extracts_beside(src: Source, download: Path, target: Path) -> bool:
    """The source's extraction writes its data on the filesystem of its download (a plain file is moved)."""
    if src.archive == "none":
        return False
    return existing_parent(download).stat().st_dev == existing_parent(target).stat().st_dev


def _no_room(dest: Path, left: int, later: int, free: int, owed: int) -> str:
    extracted = f", and extracting it about {human_bytes(later)} more there" if later else ""
    beside = f", of which the downloads and extractions running beside it will still write {human_bytes(owed)}"
    return (
        f"{dest} needs {human_bytes(left)} more{extracted}, but its filesystem has {human_bytes(free)} free"
        f"{beside if owed else ''}: free some space, or pass --downloads with a folder on another disk, then "
        "rerun (what finished is kept, and a partial download resumes)"
    )


class Turns:
    """At most ``n`` holders at once, served in the order they asked; a stop request (``CANCEL``) ends a wait."""

    def __init__(self, n: int) -> None:
        self.free = max(1, n)
        self.queue: deque[object] = deque()
        self.changed = threading.Condition()

    @contextlib.contextmanager
    def hold(self) -> Iterator[None]:
        me = object()
        with CANCEL.on_cancel(self._wake), self.changed:
            self.queue.append(me)
            try:
                while self.queue[0] is not me or not self.free:
                    CANCEL.check()  # before each wait: a stop requested before it would wake nobody
                    self.changed.wait()
            finally:
                self.queue.remove(me)
                self.changed.notify_all()  # the next in line may be first now
            self.free -= 1
        try:
            yield
        finally:
            with self.changed:
                self.free += 1
                self.changed.notify_all()

    def _wake(self) -> None:
        with self.changed:
            self.changed.notify_all()


class Shown:
    """A run's progress as the CLI draws it: each phase's bars named after it (``download coco``, ``extract
    coco``), a total over the run's downloads (``TOTAL``), and the bytes each source writes counted against the
    space it claimed (``claims``)."""

    def __init__(self, bars: Progress, claims: extract.Claims | None = None) -> None:
        self.bars, self.claims = bars, claims
        self.lock = threading.Lock()
        self.total = self.done = 0
        self.counted: dict[str, int] = {}  # bytes of each download counted in ``done``
        self.sized: set[str] = set()  # downloads whose size is in ``total``
        self.drawn = False

    def phase(self, name: Phase) -> Progress:
        return _PhaseProgress(self, name)

    @contextlib.contextmanager
    def expecting(self, sizes: Mapping[str, int | None]) -> Iterator[None]:
        """Draw the total for the block: the downloads to come, at their catalog sizes where known (the others
        join it as they start)."""
        with self.lock:
            for name, size in sizes.items():
                if size:
                    self.total += size
                    self.sized.add(name)
            self.drawn = bool(sizes)
            self._draw()
        try:
            yield
        finally:
            if self.drawn:
                self.bars.finish(TOTAL)

    def download_started(self, key: str, total: int | None, completed: int) -> None:
        with self.lock:
            if total and key not in self.sized:
                self.total += total
                self.sized.add(key)
            self.done += completed - self.counted.get(key, 0)  # a download that starts over loses what it had
            self.counted[key] = completed
            self._draw()

    def downloaded(self, key: str, n: int) -> None:
        with self.lock:
            self.done += n
            self.counted[key] = self.counted.get(key, 0) + n
        if self.drawn:
            self.bars.advance(TOTAL, n)

    def wrote(self, key: str, n: int) -> None:
        if self.claims is not None:
            self.claims.wrote(key, n)

    def _draw(self) -> None:
        if self.drawn:
            self.bars.start(TOTAL, self.total, "B", completed=self.done)


class _PhaseProgress(Progress):
    """One phase's progress, passed on to the run's bars under the phase's name."""

    def __init__(self, run: Shown, phase: Phase) -> None:
        self.run, self.phase = run, phase
        self.units: dict[str, str] = {}

    def start(self, key: str, total: int | None, unit: str = "B", *, completed: int = 0) -> None:
        self.units[key] = unit
        self.run.bars.start(f"{self.phase} {key}", total, unit, completed=completed)
        if unit == "B" and self.phase == "download":
            self.run.download_started(key, total, completed)

    def advance(self, key: str, n: int) -> None:
        self.run.bars.advance(f"{self.phase} {key}", n)
        if self.units.get(key) != "B":
            return
        self.run.wrote(key, n)
        if self.phase == "download":
            self.run.downloaded(key, n)

    def detail(self, key: str, text: str) -> None:
        self.run.bars.detail(f"{self.phase} {key}", text)

    def finish(self, key: str) -> None:
        self.run.bars.finish(f"{self.phase} {key}")


def fetch_missing(
    catalog: Catalog, names: Sequence[str], layout: Layout, options: fetch.FetchOptions
) -> tuple[fetch.FetchReport, list[str]]:
    """Fetch the named sources that are not laid out yet, each through its recipe's fetch hook; returns the report
    and the names skipped as laid out.

    A source ``prepare`` already extracted has no archive to keep any more; downloading it again would only
    cost time and disk.
    """
    sources = resolve_names(catalog, list(names))
    for src in sources:
        fetch.check_url(src)
    shown = Shown(options.progress)
    options = replace(options, progress=shown.phase("download"))
    ctx = recipes.Context(catalog, layout, options)

    def fetch_one(src: Source, limiter: fetch.HostLimiter) -> fetch.Fetched:
        return recipes.run_fetch(src, replace(ctx, limiter=limiter))

    with writing(layout):
        skipped = [s.name for s in sources if recipes.is_done(s, ctx)]
        todo = [s for s in sources if s.name not in skipped]
        with shown.expecting({s.name: s.size for s in todo if not recipes.is_fetched(s, ctx)}):
            report = fetch.fetch_sources(todo, layout, options, catalog.hosts, fetch_one=fetch_one)
        return report, skipped


def fix_layout(root: Path, spellings: Sequence[tuple[str, str]] = ()) -> list[mix.Alias]:
    """Create the aliases the mix JSON and the training scripts need for whatever is laid out under ``root``;
    ``spellings``: the catalog's pairs of folder names that mean one folder."""
    return mix.fix_spellings(root, spellings)


def _mixes_of(sources: Sequence[Source], layout: Layout) -> list[Path]:
    """The instruction mix JSONs among ``sources`` that are in place under the root."""
    paths = [layout.target(s.into) / s.file_name for s in sources if s.kind == kinds.MIX_JSON.name]
    return [p for p in paths if p.is_file()]


def _quick_verify(mixes: list[Path], root: Path, options: PrepareOptions) -> list[verify.VerifyReport]:
    opts = verify.VerifyOptions(deep=options.deep, jobs=options.jobs, progress=options.progress)
    return [verify.verify_mix(mix_path, root, opts) for mix_path in mixes]


# --- status ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SourceStatus:
    source: Source
    state: State
    images: int | None = None  # files found in the source's folders (present sources only)
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        """Every catalog field of the source (``url``, ``groups``, ``size``, ``sha256``...), its ``checksum`` as
        ``algo:hex`` and ``target``, then its state under the root (``images``: files found there)."""
        s = self.source
        checksum = s.checksum
        return {
            **msgspec.to_builtins(s),
            "checksum": None if checksum is None else ":".join(checksum),
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
