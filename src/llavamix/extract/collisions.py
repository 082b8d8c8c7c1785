"""Member collisions: two members that would land on one path, or a member on a name the extractor itself uses.

Judged on the whole plan before anything is written. Member paths are already normalised (``a//b.jpg`` and
``./a/b.jpg`` are both ``a/b.jpg``), so names that differ only in spelling collide here too. Nothing is renamed
to make room: any mapping would move a file away from the path the mix JSON names, so the archive is refused.
"""

from __future__ import annotations

from pathlib import Path

from llavamix.extract.plan import Plan, folders_of
from llavamix.foundation.errors import ArchiveLayoutError
from llavamix.foundation.io import PART_SUFFIX

SHOWN = 5  # collisions named in the error; the count covers the rest


def check_collisions(archive: Path, plan: Plan) -> None:
    """Raise ArchiveLayoutError naming the members when extracting ``plan`` would silently lose a file."""
    files, clashes = _files(plan)
    folders = folders_of(plan)
    clashes += _reserved(files, folders) + _file_folder(files, folders)
    if clashes:
        raise ArchiveLayoutError(
            f"{archive}: {len(clashes)} member collision(s), e.g. {'; '.join(clashes[:SHOWN])}. Extracting it "
            "would lose files, so nothing was extracted. The archive is damaged or not the expected download: "
            "delete it and download it again; if the published archive really holds these names, please report it"
        )


def _files(plan: Plan) -> tuple[dict[str, str], list[str]]:
    """Landed path -> the first member name landing there; and every later member landing on a taken path."""
    files: dict[str, str] = {}
    clashes = []
    for m, rel in plan:
        if m.is_dir:
            continue  # a folder listed twice lands once, harmlessly
        landed = str(rel)
        if landed in files:
            clashes.append(f"{files[landed]!r} and {m.name!r} both land at {landed!r}")
        else:
            files[landed] = m.name
    return files, clashes


def _reserved(files: dict[str, str], folders: dict[str, str]) -> list[str]:
    """``x.part`` is where ``x`` is written before its rename: a member landing there is written over, or
    removed as a killed run's leftover, and a folder there makes ``x`` unwritable."""
    out = [
        f"{name!r} lands at {landed!r}: names ending in {PART_SUFFIX!r} are reserved for temporary files"
        for landed, name in files.items()
        if landed.endswith(PART_SUFFIX)
    ]
    out += [
        f"{folders[landed]!r} needs a folder {landed!r}, the temporary name of {files[landed[: -len(PART_SUFFIX)]]!r}"
        for landed in folders
        if landed.endswith(PART_SUFFIX) and landed[: -len(PART_SUFFIX)] in files
    ]
    return out


def _file_folder(files: dict[str, str], folders: dict[str, str]) -> list[str]:
    """A file where other members need a folder (``a`` beside ``a/b.jpg``, or ``a/`` listed as a folder)."""
    return [
        f"{name!r} is a file where {folders[landed]!r} needs a folder"
        for landed, name in files.items()
        if landed in folders
    ]
