"""How a failure reads, and printing it: one place for every command, so one failure reads alike in each.

A llavamix error reads as its own message (it already says what to do); an OS error names the final path and
what to check, a full disk the free space where the command writes; anything else reads as its type and message.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from rich.markup import escape

from llavamix.cli.render import err_console
from llavamix.foundation.io import PART_SUFFIX, free_bytes, human_bytes
from llavamix.foundation.tasks import failure_text

DISK_FULL = (errno.ENOSPC, errno.EDQUOT)
RERUN = "Fix the above and rerun the same command: finished work is kept."


def describe(exc: BaseException, places: Sequence[Path] = (), *, downloads: bool = False) -> str:
    """One line for ``exc``; ``places``: where the command writes (for a full disk whose error names no file)."""
    if isinstance(exc, OSError):
        return describe_os_error(exc, list(places), downloads=downloads)
    return failure_text(exc)


def print_error(exc: BaseException, places: Sequence[Path] = (), *, downloads: bool = False) -> None:
    """``error: ...``: what stopped the command."""
    said = escape(describe(exc, places, downloads=downloads))
    err_console.print(f"[red]error:[/red] {said}", highlight=False, soft_wrap=True)


def print_failures(failures: Mapping[str, BaseException]) -> None:
    """``failed NAME: ...`` for each failed source or shard, then how to resume; nothing when none failed."""
    for name, exc in failures.items():
        err_console.print(f"[red]failed[/red] {name}: {escape(describe(exc))}", highlight=False, soft_wrap=True)
    if failures:
        err_console.print(RERUN, highlight=False, soft_wrap=True)


def describe_os_error(exc: OSError, places: list[Path] | None = None, *, downloads: bool = False) -> str:
    """``Permission denied: out/mix.idx; check ...``, naming the final path rather than its temporary twin."""
    if exc.errno in DISK_FULL:
        return describe_disk_full(exc, places or [], downloads=downloads)
    what = exc.strerror or str(exc)
    if exc.filename:
        what += f": {str(exc.filename).removesuffix(PART_SUFFIX)}"
    return f"{what}; check that the path is right and writable and that its disk has room"


def describe_disk_full(exc: OSError, places: list[Path], *, downloads: bool = False) -> str:
    """``disk full writing data/coco/a.jpg: its filesystem has 0 B free; free some space ...``: the file when the
    error names one, else the places the command writes, each with the free space of its filesystem."""
    what = "disk quota exceeded" if exc.errno == errno.EDQUOT else "disk full"
    if exc.filename:
        path = Path(str(exc.filename).removesuffix(PART_SUFFIX))
        where = f" writing {path}: its filesystem has {_free(path)}"
    else:
        shown = _one_per_filesystem(places)
        where = ": " + ", ".join(f"{p} has {_free(p)}" for p in shown) if shown else ""
    move = "put the downloads on another disk with --downloads DIR" if downloads else "write to another disk"
    return f"{what}{where}; free some space there or {move}, then rerun the same command: finished work is kept"


def _free(path: Path) -> str:
    """``'1.2 GiB free'`` on ``path``'s filesystem, and whether it is out of inodes (room for new files)."""
    try:
        free = human_bytes(free_bytes(path))
        fs = os.statvfs(_nearest(path))
    except OSError:
        return "an unknown amount free"
    return f"{free} free but no inodes left for new files" if fs.f_files and not fs.f_favail else f"{free} free"


def _one_per_filesystem(places: list[Path]) -> list[Path]:
    seen: dict[int, Path] = {}
    for place in places:
        try:
            seen.setdefault(_nearest(place).stat().st_dev, place)
        except OSError:
            continue
    return list(seen.values())


def _nearest(path: Path) -> Path:
    """``path`` or its nearest existing parent (the full disk may have kept it from being created)."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return path
