"""The plan of a ``prepare`` run, made before any byte is fetched: per source the size of its download (asked of its
server, the catalog's figure where the server cannot tell, a disagreement noted), what laying it out writes and
what is already done; over the run the bytes to download and the peak disk use, with and without kept archives,
against the free space of the downloads folder's and the root's filesystems, and, when that is short, what would
fit.

A composition layer between ``prepare`` and the recipes: it reads the catalog, asks the fetch stage's probes and
the extract stage's member lists, and writes nothing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from llavamix import extract, fetch, recipes
from llavamix.catalog import Source
from llavamix.foundation.io import existing_parent, free_bytes, human_bytes, part_path

State = Literal["done", "downloaded", "partial", "to do"]


@dataclass(frozen=True)
class SourcePlan:
    """One source: its ``download`` size and where that figure is from (``server``, ``catalog``, ``approximate``,
    ``""`` when nobody knows), the bytes of it already on disk, what laying it out writes (from the archive's member
    list once it is there, else an estimate) and a ``note`` where the server and the catalog disagree."""

    name: str
    state: State
    download: int | None
    download_from: str
    have: int = 0
    extracted: int | None = None
    extracted_from: str = ""
    moves: bool = False  # laying it out moves the download into place (a plain file): nothing extracted beside it
    note: str = ""

    @property
    def to_download(self) -> int | None:
        if self.state in ("done", "downloaded"):
            return 0
        return None if self.download is None else max(0, self.download - self.have)


@dataclass(frozen=True)
class Disk:
    """One filesystem the run writes to: a folder on it, its free bytes, and the most the run will have added to
    it at once (``peak``: archives deleted once laid out; ``peak_keep``: with ``--keep-archives``)."""

    path: Path
    free: int
    peak: int
    peak_keep: int


@dataclass(frozen=True)
class RunPlan:
    sources: list[SourcePlan]
    disks: list[Disk]  # the downloads folder's filesystem, then the root's when it is another one
    keep_archives: bool
    fits_first: list[str] = field(default_factory=list)  # the longest start of the run that fits, when all does not

    @property
    def to_download(self) -> int:
        return sum(s.to_download or 0 for s in self.sources)

    @property
    def unknown(self) -> list[str]:
        """Sources still to download whose size nobody could tell: the totals leave them out."""
        return [s.name for s in self.sources if s.to_download is None]

    def short(self, disk: Disk) -> int:
        """Bytes ``disk`` lacks for the run's peak (0 when it fits)."""
        return max(0, (disk.peak_keep if self.keep_archives else disk.peak) - disk.free)

    @property
    def fits(self) -> bool:
        return not any(self.short(d) for d in self.disks)

    def shortfall(self) -> str:
        """What does not fit and what would, as advice; "" when everything fits."""
        lacks = [f"{d.path} lacks {human_bytes(self.short(d))}" for d in self.disks if self.short(d)]
        if not lacks:
            return ""
        fits = ", ".join(self.fits_first) if self.fits_first else "not even the first source"
        return (
            f"the run's peak disk use does not fit: {'; '.join(lacks)}. What fits: {fits}. Free some space, prepare "
            "fewer sources at once, or pass --downloads with a folder on another disk; --no-space-check runs anyway"
        )


def plan_run(sources: Sequence[Source], ctx: recipes.Context, *, keep_archives: bool) -> RunPlan:
    """The plan of preparing ``sources`` (in the order prepare starts them)."""
    done = done_in_run(sources, ctx)
    states = {s.name: _state(s, ctx, s.name in done) for s in sources}
    todo = [s for s in sources if states[s.name][0] in ("partial", "to do")]
    probes = fetch.probe_sizes(todo, ctx.fetch_options) if todo else {}  # nothing to ask: no client imported
    plans = [_source_plan(s, ctx, states[s.name], probes.get(s.name)) for s in sources]
    plan = RunPlan(plans, _disks(plans, ctx), keep_archives)
    return plan if plan.fits else replace(plan, fits_first=_fitting_start(plan, ctx))


def done_in_run(sources: Sequence[Source], ctx: recipes.Context) -> set[str]:
    """The sources a run of ``sources`` may skip: done, and so is every source of the run each waits for (a source
    laid out again, a new mix JSON, makes the sources that read it run again: the OCR-VQA crawl fetches its keys)."""
    run = {s.name for s in sources}
    known: dict[str, bool] = {}

    def is_done(src: Source) -> bool:
        if src.name not in known:
            waits = [ctx.catalog[n] for n in ctx.catalog.waits_for(src) if n in run]
            known[src.name] = recipes.is_done(src, ctx) and all(is_done(w) for w in waits)
        return known[src.name]

    return {s.name for s in sources if is_done(s)}


def _source_plan(
    src: Source, ctx: recipes.Context, state: tuple[State, int], probe: fetch.SizeProbe | None
) -> SourcePlan:
    dest = ctx.layout.download_path(src.name, src.file_name)
    size, where, note = _download_size(src, dest, probe)
    extracted, how = _extracted(src, dest, size)
    moves = src.archive == "none" and not src.approx_extracted
    return SourcePlan(src.name, state[0], size, where, state[1], extracted, how, moves, note)


def _download_size(src: Source, dest: Path, probe: fetch.SizeProbe | None) -> tuple[int | None, str, str]:
    """The download's size, where the figure is from, and a note when server and catalog disagree."""
    if dest.is_file():
        return dest.stat().st_size, "on disk", ""
    catalog = src.size if src.size is not None else src.approx_size
    if probe is not None and probe.size is not None:
        told = probe.size
        if src.size is not None and told != src.size:
            return told, "server", f"the server says {told:,} bytes, the catalog {src.size:,}: the download will fail"
        if src.size is None and src.approx_size and abs(told - src.approx_size) > src.approx_size // 5:
            return (
                told,
                "server",
                f"the server says {human_bytes(told)}, the catalog about {human_bytes(src.approx_size)}",
            )
        return told, f"server ({probe.how})", ""
    where = "catalog" if src.size is not None else "approximate" if catalog is not None else ""
    why = f"the server did not tell: {_short(probe.problem)}" if probe is not None and probe.problem else ""
    return catalog, where, why


def _short(problem: str, most: int = 90) -> str:
    """A failure's gist for a table cell: its text up to the library's own nested detail, at most ``most``."""
    unreachable = re.search(r"ConnectionPool\(host='([^']+)'", problem)
    if unreachable:
        return f"cannot connect to {unreachable.group(1)}"
    gist = problem.split(" (Caused by ", 1)[0]
    return gist if len(gist) <= most else gist[: most - 1] + "…"


def _state(src: Source, ctx: recipes.Context, done: bool) -> tuple[State, int]:
    """Where the source stands, and the bytes of its download already on disk."""
    dest = ctx.layout.download_path(src.name, src.file_name)
    if done:
        return "done", 0
    if dest.is_file():
        return "downloaded", dest.stat().st_size
    if fetch.is_fetched(src, ctx.layout):
        return "downloaded", 0
    part = part_path(dest)
    if part.is_file():
        return "partial", part.stat().st_blocks * 512  # a part filled by several connections has holes
    return "to do", 0


def _extracted(src: Source, dest: Path, size: int | None) -> tuple[int | None, str]:
    """What laying the source out writes under the root, and how that is known."""
    if src.approx_extracted is not None:
        return src.approx_extracted, "approximate"
    if src.archive == "none":
        return size, "the file itself"
    if dest.is_file():
        listed = extract.listed_bytes(dest, src.archive)
        if listed is not None:
            return listed, "archive members"
    return size, "estimate" if size is not None else ""  # image archives hardly compress


# ---- disk arithmetic


@dataclass(frozen=True)
class _Step:
    """What one source adds to each filesystem (relative to now): while it is laid out, and once it is."""

    during_dl: int  # the rest of its download
    during_root: int  # what laying it out writes while its download is still there
    after_dl: int  # its download deleted (the bytes it had before the run freed too), or kept
    after_root: int


def _steps(plans: Sequence[SourcePlan], same: bool, keep: bool) -> list[_Step]:
    steps = []
    for p in plans:
        if p.state == "done":
            continue
        left, whole, out = p.to_download or 0, p.download or 0, p.extracted or 0
        if p.moves:  # a plain file: renamed into place on one filesystem (copied when kept or to another one)
            during = whole if keep or not same else 0
            steps.append(_Step(left, during, left if keep else -p.have, whole))
        else:
            steps.append(_Step(left, out, left if keep else -p.have, out))
    return steps


def _peaks(steps: Sequence[_Step], same: bool) -> tuple[int, int]:
    """The most the run adds at once to the downloads filesystem and to the root's (when they are one, all of it
    in the first), source after source: the least it needs, since a download waits for room that a running
    extraction will free rather than overfill the disk (more downloads at once only go faster where there is
    room)."""
    held_dl = held_root = peak_dl = peak_root = 0
    for step in steps:
        dl, root = held_dl + step.during_dl, held_root + step.during_root
        peak_dl, peak_root = max(peak_dl, dl + root if same else dl), max(peak_root, root)
        held_dl, held_root = held_dl + step.after_dl, held_root + step.after_root
    return peak_dl, peak_root


def peak_use(plans: Sequence[SourcePlan], *, same: bool, keep: bool) -> tuple[int, int]:
    """The most preparing ``plans`` in order adds at once to the downloads filesystem and to the root's (``same``:
    they are one, and the first figure is all of it), with archives deleted once laid out or ``keep``."""
    return _peaks(_steps(plans, same, keep), same)


def _disks(plans: Sequence[SourcePlan], ctx: recipes.Context) -> list[Disk]:
    downloads, root = existing_parent(ctx.layout.downloads_dir), existing_parent(ctx.layout.root)
    same = downloads.stat().st_dev == root.stat().st_dev
    (dl, rt), (dl_keep, rt_keep) = peak_use(plans, same=same, keep=False), peak_use(plans, same=same, keep=True)
    disks = [Disk(ctx.layout.downloads_dir, free_bytes(downloads), dl, dl_keep)]
    if not same:
        disks.append(Disk(ctx.layout.root, free_bytes(root), rt, rt_keep))
    return disks


def _fitting_start(plan: RunPlan, ctx: recipes.Context) -> list[str]:
    """The longest start of the run's sources (in order) whose peak fits."""
    todo = [p for p in plan.sources if p.state != "done"]
    for n in range(len(todo) - 1, 0, -1):
        trial = RunPlan(todo[:n], _disks(todo[:n], ctx), plan.keep_archives)
        if trial.fits:
            return [p.name for p in todo[:n]]
    return []
