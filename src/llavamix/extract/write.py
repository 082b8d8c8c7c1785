"""Writing members to their final paths: each through a temporary ``.part`` name and a rename, so a reader (or
a rerun after a kill) never sees a half-written file; staging for archives that can only be read front to back."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO

from llavamix.extract.archives import Member, Reader
from llavamix.extract.plan import Plan
from llavamix.extract.space import Budget
from llavamix.foundation.io import CHUNK, commit, part_path
from llavamix.foundation.tasks import CANCEL, Progress

STAGED_PER_FOLDER = 4096  # keeps each staging folder small whatever the archive's size


class Folders:
    """Creates each folder once per run: a ``mkdir`` per member would double the system calls."""

    def __init__(self) -> None:
        self._made: set[Path] = set()

    def ensure(self, path: Path) -> None:
        if path not in self._made:
            path.mkdir(parents=True, exist_ok=True)
            self._made.add(path)


def write_file(src: IO[bytes], dest: Path, size: int) -> None:
    """Copy ``src`` (``size`` bytes) to ``dest.part``, then rename it to ``dest``.

    No fsync: at half a million small files it would dominate the run; the marker's one sync covers them all.
    """
    tmp = part_path(dest)
    try:
        with open(tmp, "wb") as out:
            if size <= CHUNK:  # one read and one write for the typical image
                written = out.write(src.read())
            else:
                shutil.copyfileobj(src, out, CHUNK)
                written = out.tell()
        if written != size:
            raise EOFError(f"{dest.name}: {written} bytes where the archive lists {size}")
        commit(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_plan(reader: Reader, plan: Plan, target: Path, progress: Progress, key: str, jobs: int = 1) -> None:
    """Write every planned member under ``target``; with ``jobs`` > 1 (and a thread-safe reader) from that
    many threads, each taking every ``jobs``-th member so they all move through the archive together."""
    folders = Folders()
    if jobs <= 1 or not reader.threadsafe:
        _write_members(reader, plan, target, progress, key, folders)
        return
    with ThreadPoolExecutor(jobs) as pool:
        futures = [
            pool.submit(_write_members, reader, plan[i::jobs], target, progress, key, folders) for i in range(jobs)
        ]
        for fut in futures:
            fut.result()


def _write_members(reader: Reader, plan: Plan, target: Path, progress: Progress, key: str, folders: Folders) -> None:
    for m, rel in plan:
        CANCEL.check()  # Ctrl-C stops between members; each written one is whole
        dest = target / rel
        if m.is_dir:
            folders.ensure(dest)
            continue
        folders.ensure(dest.parent)
        with reader.open(m) as src:
            write_file(src, dest, m.size)
        progress.advance(key, m.size)


Stream = Iterable[tuple[Member, IO[bytes] | None]]


def stage_members(stream: Stream, staging: Path, progress: Progress, key: str, budget: Budget | None) -> list[Member]:
    """Write a streamed archive's members (already checked) into ``staging``; the staged files as members.

    Each file is staged under its position in the archive, not its name, so members whose names collide are all
    kept for the collision check instead of the last one silently winning. ``budget`` refuses the file that would
    not fit on the disk.
    """
    folders = Folders()
    staged: list[Member] = []
    for i, (m, data) in enumerate(stream):
        CANCEL.check()  # Ctrl-C stops between members; staging is scratch
        if data is None:
            staged.append(m)  # a folder: nothing to stage
            continue
        if budget is not None:
            budget.take(m.size)
        dest = staging / str(i // STAGED_PER_FOLDER) / str(i)
        folders.ensure(dest.parent)
        with open(dest, "wb") as out:
            shutil.copyfileobj(data, out, CHUNK)
        progress.advance(key, m.size)
        staged.append(Member(m.name, m.path, m.size, False, dest))
    return staged


def move_plan(plan: Plan, target: Path) -> None:
    """Rename staged members to their final paths (one atomic rename each: staging shares the filesystem)."""
    folders = Folders()
    for m, rel in plan:
        dest = target / rel
        if m.is_dir:
            folders.ensure(dest)
            continue
        folders.ensure(dest.parent)
        Path(m.ref).replace(dest)
        part_path(dest).unlink(missing_ok=True)  # left by an earlier, killed run that wrote in place
