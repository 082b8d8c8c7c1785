"""Where each member lands: the member -> path mapping (``Plan``), ``strip``, junk entries, roots, disk space."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path, PurePosixPath

from llavamix import io
from llavamix.errors import ArchiveLayoutError, DiskSpaceError
from llavamix.extract.archives import Member
from llavamix.layout import PREFIX_SOURCES

Plan = list[tuple[Member, PurePosixPath]]  # member -> its path under the source's target folder
Mapper = Callable[[Path, list[Member]], Plan]  # (archive, members) -> plan; raises ArchiveLayoutError

# Entries archivers add on their own (macOS resource forks, Finder and Explorer caches): never extracted.
JUNK_DIRS = frozenset({"__MACOSX"})
JUNK_FILES = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})


def is_junk(path: PurePosixPath) -> bool:
    return path.parts[0] in JUNK_DIRS or path.name in JUNK_FILES


def strip_mapper(strip: str) -> Mapper:
    """Land every member with the prefix ``strip`` removed; a file outside ``strip`` is a layout error."""
    prefix = PurePosixPath(strip).parts if strip.strip("/") else ()

    def plan(archive: Path, members: list[Member]) -> Plan:
        out: Plan = []
        stray: list[str] = []
        for m in members:
            parts = m.path.parts
            if is_junk(m.path):
                continue
            if parts[: len(prefix)] == prefix:
                if len(parts) > len(prefix):
                    out.append((m, PurePosixPath(*parts[len(prefix) :])))
            elif not (m.is_dir and prefix[: len(parts)] == parts):  # folders above ``strip`` are fine
                stray.append(m.name)
        if stray:
            raise ArchiveLayoutError(
                f"{archive}: {len(stray)} member(s) are not under strip={strip!r}, e.g. {stray[:3]}; "
                "the archive is not the expected download, or the catalog's 'strip' for it needs fixing"
            )
        return out

    return plan


def files_of(plan: Plan) -> Plan:
    return [(m, rel) for m, rel in plan if not m.is_dir]


def roots(into: str, plan: Plan) -> list[str]:
    """Folders (relative to the data root) that receive the plan's files: the known image prefix a file lands
    under (``layout.PREFIX_SOURCES``), else the target folder's first level below ``into``."""
    base = PurePosixPath(into)
    by_folder: dict[str, str] = {}  # keyed by the member's folder as text: cheap for 500K members
    for _, rel in files_of(plan):
        folder = str(rel).rpartition("/")[0]
        if folder not in by_folder:
            by_folder[folder] = _root_of(base, folder)
    return sorted(set(by_folder.values()))


def _root_of(base: PurePosixPath, folder: str) -> str:
    landed = (base / folder).as_posix() + "/"
    known = [p for p in PREFIX_SOURCES if landed.startswith(p + "/")]
    if known:
        return max(known, key=len)
    return (base / folder.partition("/")[0]).as_posix()


def bytes_to_write(plan: Plan, target: Path) -> int:
    """Bytes the plan adds to the disk: a file already in place (from a killed run) only counts its growth."""
    total = 0
    folder_exists: dict[str, bool] = {}
    for m, rel in files_of(plan):
        folder = str(rel).rpartition("/")[0]
        if folder not in folder_exists:
            folder_exists[folder] = (target / folder).is_dir()
        old = _size_or_zero(target / rel) if folder_exists[folder] else 0
        total += max(0, m.size - old)
    return total


def _size_or_zero(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def check_space(archive: Path, target: Path, needed: int) -> None:
    """Raise DiskSpaceError unless ``needed`` bytes are free on the filesystem that holds ``target``."""
    free = io.free_bytes(target)
    if needed > free:
        raise DiskSpaceError(
            f"extracting {archive.name} needs {io.human_bytes(needed)} under {target}, but only "
            f"{io.human_bytes(free)} is free: free up {io.human_bytes(needed - free)} (or use a --root on a "
            "bigger disk) and run again"
        )
