"""The extraction entry point: ``extract_source`` runs one source's lay-out step (the recipe's, which the
composition layer picks by kind; the plain archive step by default) with the completion marker around it.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from llavamix.catalog import Source
from llavamix.extract.marker import read_extracted, write_marker
from llavamix.extract.model import Extracted, ExtractOptions
from llavamix.extract.place import place_file
from llavamix.extract.plan import strip_mapper
from llavamix.extract.unpack import unpack
from llavamix.foundation.errors import ConfigError
from llavamix.foundation.io import FlushBehind
from llavamix.foundation.layout import Layout
from llavamix.foundation.tasks import Progress

log = logging.getLogger(__name__)

Step = Callable[[Source, Path, Layout, ExtractOptions], Extracted]  # lays a source's download out, marker aside


def lay_out_archive(source: Source, archive: Path, layout: Layout, options: ExtractOptions) -> Extracted:
    """The plain step: unpack the archive into ``into`` with ``strip`` removed, or place a plain file there."""
    if source.archive == "none":
        return place_file(source, archive, layout, options)
    return unpack(source, archive, layout, options, strip_mapper(source.strip))


DEFAULT_OPTIONS = ExtractOptions()


def extract_source(
    source: Source,
    archive: Path,
    layout: Layout,
    options: ExtractOptions = DEFAULT_OPTIONS,
    step: Step = lay_out_archive,
) -> Extracted:
    """Lay out ``archive`` (the source's download) under the data root with ``step``; idempotent and safe to kill.

    A finished source (its marker present) is not redone. Otherwise every member is written again through a
    temporary name, the marker is written last, and the archive is deleted unless ``options.keep_archive``.
    """
    done = read_extracted(source, layout)
    if done is not None:
        _drop_archive(archive, layout, done, options)  # a run killed between its marker and the deletion
        return done
    if not archive.is_file():
        raise ConfigError(f"{archive} not found; download it first (llavamix fetch {source.name})")
    with FlushBehind(layout.root) as flush:  # the disk writes while the step does; the marker's sync has little left
        result = step(source, archive, layout, replace(options, progress=_Flushing(options.progress, flush)))
    shutil.rmtree(layout.staging(source.name), ignore_errors=True)  # a killed run's, whatever step it ran
    write_marker(layout, result)
    _drop_archive(archive, layout, result, options)
    log.info("extracted %s: %d files, %d bytes into %s", source.name, result.files, result.bytes, result.roots)
    return result


def _drop_archive(archive: Path, layout: Layout, result: Extracted, options: ExtractOptions) -> None:
    if options.keep_archive or not archive.is_file():
        return
    if any(archive.resolve() == (layout.root / r).resolve() for r in result.roots):
        return  # the download is the placed file itself
    archive.unlink()
    log.info("deleted %s after extracting it", archive)


class _Flushing(Progress):
    """The step's progress, passed on, with the bytes it reports written handed to a FlushBehind."""

    def __init__(self, inner: Progress, flush: FlushBehind) -> None:
        self.inner, self.flush = inner, flush
        self.bytes: set[str] = set()  # keys counted in bytes

    def start(self, key: str, total: int | None, unit: str = "B", *, completed: int = 0) -> None:
        if unit == "B":
            self.bytes.add(key)
        self.inner.start(key, total, unit, completed=completed)

    def advance(self, key: str, n: int) -> None:
        self.inner.advance(key, n)
        if key in self.bytes:
            self.flush.wrote(n)

    def detail(self, key: str, text: str) -> None:
        self.inner.detail(key, text)

    def finish(self, key: str) -> None:
        self.inner.finish(key)
