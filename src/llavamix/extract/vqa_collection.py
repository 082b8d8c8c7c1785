"""The ``vqa_collection`` recipe: map the (undocumented) members of ``vqa_collection.zip`` onto its six dataset
folders, detecting one wrapper folder, and fail clearly on anything else."""

from __future__ import annotations

import logging
from pathlib import Path, PurePosixPath

from llavamix.errors import ArchiveLayoutError
from llavamix.extract.archives import Member
from llavamix.extract.plan import Plan, is_junk

log = logging.getLogger(__name__)

# The folders the mix JSON reads; ChartQA's appears as chatqa/ or chartqa/ and keeps the archive's spelling.
DATASETS: tuple[tuple[str, ...], ...] = tuple(
    PurePosixPath(p).parts
    for p in (
        "ai2d/images",
        "chatqa/train/png",
        "chartqa/train/png",
        "docvqa/train/documents",
        "dvqa/images",
        "geoqa+/images",
        "synthdog-en/images",
    )
)
_TOPS = frozenset(d[0] for d in DATASETS)
_KNOWN = ", ".join("/".join(d) + "/" for d in DATASETS)


def vqa_collection_plan(archive: Path, members: list[Member]) -> Plan:
    """Land each dataset folder under the target with its own name; junk is skipped, surprises raise."""
    kept = [m for m in members if not is_junk(m.path)]
    wrapper = _wrapper(kept)
    plan: Plan = []
    stray: list[str] = []
    found: set[tuple[str, ...]] = set()
    for m in kept:
        parts = m.path.parts[len(wrapper) :]
        dataset = _dataset_of(parts, m.is_dir)
        if dataset is not None:
            plan.append((m, PurePosixPath(*parts)))
            found.add(dataset)
        elif not m.is_dir:  # folders above the datasets (or empty ones) carry nothing
            stray.append(m.name)
    _check(archive, plan, stray, found)
    return plan


def _wrapper(members: list[Member]) -> tuple[str, ...]:
    """The one folder every file sits in, when that folder is not itself a dataset (e.g. ``vqa_collection/``)."""
    files = [m.path.parts for m in members if not m.is_dir]
    firsts = {parts[0] for parts in files}
    if len(firsts) == 1 and all(len(parts) > 1 for parts in files):
        (only,) = firsts
        if only not in _TOPS:
            return (only,)
    return ()


def _dataset_of(parts: tuple[str, ...], is_dir: bool) -> tuple[str, ...] | None:
    for dataset in DATASETS:
        inside = parts[: len(dataset)] == dataset
        if inside and (is_dir or len(parts) > len(dataset)):
            return dataset
    return None


def _check(archive: Path, plan: Plan, stray: list[str], found: set[tuple[str, ...]]) -> None:
    if stray:
        raise ArchiveLayoutError(
            f"{archive}: {len(stray)} file(s) fit none of the known VQA-collection folders, e.g. {stray[:5]}; "
            f"expected only {_KNOWN} (possibly under one wrapper folder). The archive's layout has changed: "
            "nothing was extracted; please report this with the names above"
        )
    if not any(not m.is_dir for m, _ in plan):
        raise ArchiveLayoutError(f"{archive}: no image files found; expected {_KNOWN}")
    tops = {d[0] for d in found}
    missing = sorted(_TOPS - tops - ({"chatqa", "chartqa"} if tops & {"chatqa", "chartqa"} else set()))
    if missing:
        log.warning("%s holds no %s folder(s); records that need them will fail verification", archive, missing)
