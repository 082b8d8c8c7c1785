"""Sources that are one plain file (``archive = "none"``): put the download at ``ROOT/<into>/<file name>``."""

from __future__ import annotations

import shutil
from pathlib import Path

from llavamix.catalog import Source
from llavamix.extract.model import Extracted, ExtractOptions
from llavamix.extract.plan import check_space
from llavamix.io import commit, part_path
from llavamix.layout import Layout


def place_file(source: Source, archive: Path, layout: Layout, options: ExtractOptions) -> Extracted:
    """Move the download into place (copy it when it is kept or lives on another filesystem), atomically."""
    dest = layout.target(source.into) / source.file_name
    dest.parent.mkdir(parents=True, exist_ok=True)
    size = archive.stat().st_size
    options.progress.start(source.name, size, "B")
    try:
        if dest.exists() and dest.samefile(archive):
            pass  # the download folder is the target folder: already in place
        elif options.keep_archive or archive.stat().st_dev != dest.parent.stat().st_dev:
            _copy(source, archive, dest, options)
        else:
            archive.replace(dest)
        options.progress.advance(source.name, size)
    finally:
        options.progress.finish(source.name)
    rel = dest.relative_to(layout.root).as_posix()
    return Extracted(source.name, 1, size, [rel])


def _copy(source: Source, archive: Path, dest: Path, options: ExtractOptions) -> None:
    if options.check_space:
        check_space(archive, dest.parent, archive.stat().st_size)
    tmp = part_path(dest)
    try:
        shutil.copyfile(archive, tmp)
        commit(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
