"""The ``sam`` lay-out step: the SAM 9K archive's layout is undocumented, so find the one folder its ``sa_<n>.jpg``
files sit in (the top level, ``images/``, ``sam_images_share-sft/``, ``data/sam/images/``...) and land them flat in
the target folder; anything else in the archive is a surprise, reported before a byte is written."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from llavamix.catalog import Source
from llavamix.extract.archives import Member
from llavamix.extract.model import Extracted, ExtractOptions
from llavamix.extract.plan import Plan, is_junk
from llavamix.extract.unpack import unpack
from llavamix.foundation.errors import ArchiveLayoutError
from llavamix.foundation.layout import Layout

SAM_IMAGE = re.compile(r"sa_\d+\.jpg")


def sam_plan(archive: Path, members: list[Member]) -> Plan:
    """Every ``sa_<n>.jpg`` by its bare name; raises when they are missing, split over folders, or not alone."""
    files = [m for m in members if not m.is_dir and not is_junk(m.path)]
    images = [m for m in files if SAM_IMAGE.fullmatch(m.path.name)]
    if not images:
        raise ArchiveLayoutError(
            f"{archive}: no sa_<number>.jpg files in it; it is not the SAM subset the mix uses (check the download)"
        )
    folders = sorted({m.path.parent.as_posix() for m in images})
    if len(folders) > 1:
        raise ArchiveLayoutError(
            f"{archive}: the sa_*.jpg files sit in {len(folders)} folders ({', '.join(folders[:4])}); expected "
            "one. Nothing was extracted; please report this layout"
        )
    stray = [m.name for m in files if not SAM_IMAGE.fullmatch(m.path.name)]
    if stray:
        raise ArchiveLayoutError(
            f"{archive}: {len(stray)} file(s) beside the sa_*.jpg images, e.g. {stray[:3]}; the archive is not the "
            "expected SAM subset. Nothing was extracted; please report this layout"
        )
    return [(m, PurePosixPath(m.path.name)) for m in images]


def extract_sam(source: Source, archive: Path, layout: Layout, options: ExtractOptions) -> Extracted:
    """Unpack the SAM subset's images flat into the target folder (the catalog requires an archive for it)."""
    return unpack(source, archive, layout, options, sam_plan)
