"""Writing members to their final paths: each through a temporary ``.part`` name and a rename, so a reader (or
a rerun after a kill) never sees a half-written file; staging for archives that can only be read front to back."""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import IO

from llavamix.extract.archives import Member, Reader
from llavamix.extract.plan import Plan
from llavamix.io import CHUNK, commit, part_path
from llavamix.tasks import Progress


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

    No fsync here: the marker's sync covers every file at once.
    """
    tmp = part_path(dest)
    try:
        with open(tmp, "wb") as out:
            shutil.copyfileobj(src, out, CHUNK)
            if out.tell() != size:
                raise EOFError(f"{dest.name}: {out.tell()} bytes where the archive lists {size}")
        commit(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_plan(reader: Reader, plan: Plan, target: Path, progress: Progress, key: str) -> None:
    """Write every planned member under ``target``, in archive order."""
    folders = Folders()
    for m, rel in plan:
        dest = target / rel
        if m.is_dir:
            folders.ensure(dest)
            continue
        folders.ensure(dest.parent)
        with reader.open(m) as src:
            write_file(src, dest, m.size)
        progress.advance(key, m.size)


Stream = Iterable[tuple[Member, IO[bytes] | None]]


def stage_members(stream: Stream, staging: Path, progress: Progress, key: str) -> list[Member]:
    """Write a streamed archive's members (already checked) into ``staging``; the staged files as members."""
    folders = Folders()
    staged: dict[str, Member] = {}  # by path: a later duplicate entry replaces an earlier one, as in tar
    for m, data in stream:
        dest = staging / m.path
        if data is None:
            folders.ensure(dest)
        else:
            folders.ensure(dest.parent)
            with open(dest, "wb") as out:
                shutil.copyfileobj(data, out, CHUNK)
            progress.advance(key, m.size)
        staged[m.path.as_posix()] = Member(m.name, m.path, m.size, m.is_dir, dest)
    return list(staged.values())


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
