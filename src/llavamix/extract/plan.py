"""Where each member lands: the member -> path mapping (``Plan``), ``strip``, junk entries, folders, roots."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path, PurePosixPath

from llavamix.extract.archives import Member
from llavamix.foundation.errors import ArchiveLayoutError

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


def folders_of(plan: Plan) -> dict[str, str]:
    """Every folder (posix, relative to the target) the plan creates, listed or implied by a member below it,
    mapped to the name of a member that needs it."""
    folders: dict[str, str] = {}
    for m, rel in plan:
        landed = str(rel)  # posix: the plan's paths are PurePosixPath
        folder = landed if m.is_dir else landed.rpartition("/")[0]
        while folder and folder not in folders:  # its parents were added with it
            folders[folder] = m.name
            folder = folder.rpartition("/")[0]
    return folders


def roots(into: str, plan: Plan, prefixes: Sequence[str] = ()) -> list[str]:
    """Folders (relative to the data root) that receive the plan's files: the longest of the source's image
    ``prefixes`` a file lands under, else the target folder's first level below ``into``; none inside another."""
    base = PurePosixPath(into)
    by_folder: dict[str, str] = {}  # keyed by the member's folder as text: cheap for 500K members
    for _, rel in files_of(plan):
        folder = str(rel).rpartition("/")[0]
        if folder not in by_folder:
            by_folder[folder] = _root_of(base, folder, prefixes)
    found = sorted(set(by_folder.values()))
    return [r for r in found if not any(r.startswith(other + "/") for other in found)]


def _root_of(base: PurePosixPath, folder: str, prefixes: Sequence[str]) -> str:
    landed = (base / folder).as_posix() + "/"
    known = [p for p in prefixes if landed.startswith(p + "/")]
    if known:
        return max(known, key=len)
    return (base / folder.partition("/")[0]).as_posix()
