"""Disk space for an extraction, counted the way a filesystem spends it, and checked before anything is written.

A file takes its size rounded up to whole blocks, an inode and a directory entry; a new folder a block and an
inode. Counting bytes alone passes 2,000 files of 200 bytes on a 1 MiB disk that holds 256 of them. The free side
is what ``statvfs`` grants an unprivileged writer: free blocks of the fundamental block size, and free inodes
where the filesystem counts them, less what other work running beside the extraction will still write there
(a ``claims.Claim``, when the run keeps a ledger: downloads in flight, other extractions).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from llavamix.extract.claims import Claim
from llavamix.extract.plan import Plan, files_of, folders_of
from llavamix.foundation import io
from llavamix.foundation.errors import DiskSpaceError

DIRENT = 64  # bytes of directory entry per new file: a generous average for image file names


@dataclass(frozen=True)
class Room:
    """Free space on one filesystem: ``blocks`` blocks of ``block`` bytes, ``inodes`` (None: not counted)."""

    block: int
    blocks: int
    inodes: int | None


def room(path: Path) -> Room:
    """The free space of the filesystem holding ``path`` (or its nearest existing parent)."""
    st = os.statvfs(io.existing_parent(path))
    block = st.f_frsize or st.f_bsize
    return Room(block, st.f_bavail, st.f_favail if st.f_files else None)


@dataclass
class Need:
    """What some writes cost on a filesystem with ``block``-byte blocks; ``files`` counts new files only."""

    block: int
    blocks: int = 0
    inodes: int = 0
    files: int = 0

    def add_file(self, size: int, old: int | None = None) -> None:
        """A file of ``size`` bytes; ``old``: the size of the file already at its path (a killed run's)."""
        if old is None:
            self.inodes += 1
            self.files += 1
        self.blocks += max(0, self._blocks(size) - self._blocks(old or 0))

    def add_folders(self, n: int) -> None:
        self.blocks += n
        self.inodes += n

    def total_blocks(self) -> int:
        return self.blocks + self._blocks(self.files * DIRENT)

    def _blocks(self, size: int) -> int:
        return -(-size // self.block)


def extraction_need(block: int) -> Need:
    """The need of an extraction before its files: the completion marker, written last."""
    return Need(block, blocks=1, inodes=1)


def check_plan(archive: Path, plan: Plan, target: Path, claim: Claim | None = None) -> None:
    """Raise DiskSpaceError unless ``target``'s filesystem has room for every file and folder of ``plan``
    beside what ``claim`` says other work will still write there."""
    free = room(target)
    need = extraction_need(free.block)
    need.add_folders(_new_folders(plan, target))
    folder_exists: dict[str, bool] = {}  # keyed by the member's folder as text: cheap for 500K members
    for m, rel in files_of(plan):
        folder = str(rel).rpartition("/")[0]
        if folder not in folder_exists:
            folder_exists[folder] = (target / folder).is_dir()
        need.add_file(m.size, _size_or_none(target / rel) if folder_exists[folder] else None)
    _check_claimed(archive, target, need, free, claim)


def check_file(archive: Path, folder: Path, size: int, claim: Claim | None = None) -> int:
    """Raise DiskSpaceError unless ``folder``'s filesystem has room for one new file of ``size`` bytes beside
    what ``claim`` says other work will still write there; returns that (bytes)."""
    free = room(folder)
    need = extraction_need(free.block)
    need.add_file(size)
    return _check_claimed(archive, folder, need, free, claim)


def _check_claimed(archive: Path, target: Path, need: Need, free: Room, claim: Claim | None) -> int:
    """``check_room`` once ``need`` is claimed (the claim may wait for room: the free space is then read again)."""
    owed = 0
    if claim is not None:
        owed = claim(target, need.total_blocks() * free.block)
        free = room(target)
    check_room(archive, target, need, free, owed=owed)
    return owed


def _new_folders(plan: Plan, target: Path) -> int:
    above = next(i for i, p in enumerate((target, *target.parents)) if p.exists())  # target and parents to create
    folders = folders_of(plan)
    if above:
        return above + len(folders)
    return sum(1 for f in folders if not (target / f).is_dir())


def _size_or_none(path: Path) -> int | None:
    try:
        return path.stat().st_size
    except OSError:
        return None


class Budget:
    """Space taken file by file, for an archive read front to back whose member list is not known up front:
    refuses the file that would not fit, before the disk is full."""

    def __init__(self, archive: Path, target: Path, owed: int = 0) -> None:
        self.archive, self.target, self.owed = archive, target, owed  # owed: what other work will still write
        self.room = room(target)
        self.need = extraction_need(self.room.block)

    def take(self, size: int) -> None:
        self.need.add_file(size)
        check_room(self.archive, self.target, self.need, self.room, so_far=True, owed=self.owed)


def check_room(archive: Path, target: Path, need: Need, free: Room, *, so_far: bool = False, owed: int = 0) -> None:
    """Raise DiskSpaceError naming ``target``, what ``need`` takes and what is free, when it does not fit;
    ``so_far``: ``need`` covers only the files read so far of an archive still being read; ``owed``: bytes of the
    free space that other work running beside it will still write."""
    promised = -(-owed // free.block)
    needed, available = need.total_blocks(), max(0, free.blocks - promised)
    if needed > available:
        files = f"its first {need.files:,} files" if so_far else f"{need.files:,} new file{'s' * (need.files != 1)}"
        raise DiskSpaceError(
            f"extracting {archive.name} needs {'more than ' * so_far}{io.human_bytes(needed * free.block)} under "
            f"{target} ({needed:,} blocks of {free.block:,} bytes for {files}, each rounded up to whole blocks), "
            f"but only {io.human_bytes(available * free.block)} ({available:,} blocks) is free there"
            f"{_promised(promised * free.block)}: free up {'at least ' * so_far}"
            f"{io.human_bytes((needed - available) * free.block)} (or use a --root on a bigger disk) and run again"
        )
    if free.inodes is not None and need.inodes > free.inodes:
        raise DiskSpaceError(
            f"extracting {archive.name} creates {'more than ' * so_far}{need.inodes:,} files and folders under "
            f"{target}, but its filesystem has room for only {free.inodes:,} more (free inodes): delete files there "
            "(or use a --root on a filesystem with more inodes) and run again"
        )


def _promised(owed: int) -> str:
    if not owed:
        return ""
    return f" beside the {io.human_bytes(owed)} that downloads and extractions running at once will still write"
