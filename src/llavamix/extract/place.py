"""Sources that are one plain file (``archive = "none"``): put the download at ``ROOT/<into>/<file name>``."""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

from llavamix.catalog import Source
from llavamix.extract.model import Extracted, ExtractOptions
from llavamix.extract.space import check_file
from llavamix.foundation.io import commit, part_path
from llavamix.foundation.layout import Layout


def place_file(source: Source, archive: Path, layout: Layout, options: ExtractOptions) -> Extracted:
    """Move the download into place (copy it when it is kept or lives on another filesystem), atomically."""
    dest = layout.target(source.into) / source.file_name
    dest.parent.mkdir(parents=True, exist_ok=True)
    size = archive.stat().st_size
    options.progress.start(source.name, size, "B")
    try:
        if dest.exists() and dest.samefile(archive):
            pass  # the download folder is the target folder: already in place
        elif options.keep_archive:
            _copy(archive, dest, options, source.name)
        else:
            _move(archive, dest, options, source.name)
        options.progress.advance(source.name, size)
    finally:
        options.progress.finish(source.name)
    rel = dest.relative_to(layout.root).as_posix()
    return Extracted(source.name, 1, size, [rel])


def _move(archive: Path, dest: Path, options: ExtractOptions, key: str) -> None:
    try:
        archive.replace(dest)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        _copy(archive, dest, options, key)  # the downloads folder is on another filesystem


def _copy(archive: Path, dest: Path, options: ExtractOptions, key: str) -> None:
    if options.check_space:
        check_file(archive, dest.parent, archive.stat().st_size, options.claim(key))
    tmp = part_path(dest)
    try:
        shutil.copyfile(archive, tmp)
        commit(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
