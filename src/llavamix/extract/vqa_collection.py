"""The ``vqa_collection`` lay-out step: map the (undocumented) members of ``vqa_collection.zip`` onto its dataset
folders (the source's ``image_prefixes``), detecting one wrapper folder, and fail clearly on anything else."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from llavamix.catalog import Source
from llavamix.extract.archives import Member
from llavamix.extract.model import Extracted, ExtractOptions
from llavamix.extract.plan import Mapper, Plan, is_junk
from llavamix.extract.unpack import unpack
from llavamix.foundation.errors import ArchiveLayoutError
from llavamix.foundation.layout import Layout

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Datasets:
    """The folders the mix JSON reads (ChartQA's appears as chatqa/ or chartqa/ and keeps the archive's
    spelling), and the pairs of top-level names that mean one folder."""

    folders: tuple[tuple[str, ...], ...]
    spellings: tuple[tuple[str, str], ...]

    @property
    def tops(self) -> frozenset[str]:
        return frozenset(d[0] for d in self.folders)

    @property
    def known(self) -> str:
        return ", ".join("/".join(d) + "/" for d in self.folders)

    def missing(self, found: set[tuple[str, ...]]) -> list[str]:
        """Top-level folders none of whose spellings the archive holds."""
        tops = {d[0] for d in found}
        for pair in self.spellings:
            if tops & set(pair):
                tops |= set(pair)
        return sorted(self.tops - tops)


def extract_vqa_collection(source: Source, archive: Path, layout: Layout, options: ExtractOptions) -> Extracted:
    """Unpack the collection: each of the source's ``image_prefixes`` lands under the target with its own name."""
    return unpack(source, archive, layout, options, vqa_collection_mapper(source.image_prefixes, source.spellings))


def vqa_collection_mapper(prefixes: Sequence[str], spellings: Sequence[tuple[str, str]] = ()) -> Mapper:
    datasets = _Datasets(tuple(PurePosixPath(p).parts for p in prefixes), tuple(spellings))

    def plan(archive: Path, members: list[Member]) -> Plan:
        return _plan(archive, members, datasets)

    return plan


def _plan(archive: Path, members: list[Member], datasets: _Datasets) -> Plan:
    """Land each dataset folder under the target with its own name; junk is skipped, surprises raise."""
    kept = [m for m in members if not is_junk(m.path)]
    wrapper = _wrapper(kept, datasets.tops)
    plan: Plan = []
    stray: list[str] = []
    found: set[tuple[str, ...]] = set()
    for m in kept:
        parts = m.path.parts[len(wrapper) :]
        dataset = _dataset_of(parts, m.is_dir, datasets.folders)
        if dataset is not None:
            plan.append((m, PurePosixPath(*parts)))
            found.add(dataset)
        elif not m.is_dir:  # folders above the datasets (or empty ones) carry nothing
            stray.append(m.name)
    _check(archive, plan, stray, found, datasets)
    return plan


def _wrapper(members: list[Member], tops: frozenset[str]) -> tuple[str, ...]:
    """The one folder every file sits in, when that folder is not itself a dataset (e.g. ``vqa_collection/``)."""
    files = [m.path.parts for m in members if not m.is_dir]
    firsts = {parts[0] for parts in files}
    if len(firsts) == 1 and all(len(parts) > 1 for parts in files):
        (only,) = firsts
        if only not in tops:
            return (only,)
    return ()


def _dataset_of(parts: tuple[str, ...], is_dir: bool, folders: tuple[tuple[str, ...], ...]) -> tuple[str, ...] | None:
    for dataset in folders:
        inside = parts[: len(dataset)] == dataset
        if inside and (is_dir or len(parts) > len(dataset)):
            return dataset
    return None


def _check(archive: Path, plan: Plan, stray: list[str], found: set[tuple[str, ...]], datasets: _Datasets) -> None:
    if stray:
        raise ArchiveLayoutError(
            f"{archive}: {len(stray)} file(s) fit none of the known VQA-collection folders, e.g. {stray[:5]}; "
            f"expected only {datasets.known} (possibly under one wrapper folder). The archive's layout has changed: "
            "nothing was extracted; please report this with the names above"
        )
    if not any(not m.is_dir for m, _ in plan):
        raise ArchiveLayoutError(f"{archive}: no image files found; expected {datasets.known}")
    missing = datasets.missing(found)
    if missing:
        log.warning("%s holds no %s folder(s); records that need them will fail verification", archive, missing)
