"""Extraction entry point and the recipe table: ``source.kind`` names the function that lays a download out.

A new awkward source (SAM, WebData, OCR-VQA) is one function and one entry in ``RECIPES``.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Callable
from pathlib import Path

from llavamix.catalog import Source
from llavamix.errors import ConfigError
from llavamix.extract.crawled import take_stock
from llavamix.extract.marker import read_extracted, write_marker
from llavamix.extract.model import Extracted, ExtractOptions
from llavamix.extract.place import place_file
from llavamix.extract.plan import strip_mapper
from llavamix.extract.sam import extract_sam
from llavamix.extract.unpack import unpack
from llavamix.extract.vqa_collection import vqa_collection_plan
from llavamix.layout import Layout

log = logging.getLogger(__name__)

Recipe = Callable[[Source, Path, Layout, ExtractOptions], Extracted]


def _archive(source: Source, archive: Path, layout: Layout, options: ExtractOptions) -> Extracted:
    if source.archive == "none":
        return place_file(source, archive, layout, options)
    return unpack(source, archive, layout, options, strip_mapper(source.strip))


def _mix_json(source: Source, archive: Path, layout: Layout, options: ExtractOptions) -> Extracted:
    _require_archive(source, "none")
    return place_file(source, archive, layout, options)


def _vqa_collection(source: Source, archive: Path, layout: Layout, options: ExtractOptions) -> Extracted:
    _require_archive(source, "zip", "tar", "tar.gz")
    return unpack(source, archive, layout, options, vqa_collection_plan)


RECIPES: dict[str, Recipe] = {
    "archive": _archive,
    "mix_json": _mix_json,
    "vqa_collection": _vqa_collection,
    "sam": extract_sam,
    "ocrvqa": take_stock,
}


def _require_archive(source: Source, *allowed: str) -> None:
    if source.archive not in allowed:
        raise ConfigError(
            f"source {source.name!r}: kind {source.kind!r} needs archive = {' | '.join(allowed)}, "
            f"not {source.archive!r}; fix the catalog entry"
        )


def recipe_for(source: Source) -> Recipe:
    try:
        return RECIPES[source.kind]
    except KeyError:
        raise ConfigError(
            f"source {source.name!r}: no extraction recipe for kind {source.kind!r} "
            f"(known kinds: {', '.join(RECIPES)}); fix 'kind' in the catalog"
        ) from None


DEFAULT_OPTIONS = ExtractOptions()


def extract_source(
    source: Source, archive: Path, layout: Layout, options: ExtractOptions = DEFAULT_OPTIONS
) -> Extracted:
    """Lay out ``archive`` (the source's download) under the data root; idempotent and safe to kill.

    A finished source (its marker present) is not redone. Otherwise every member is written again through a
    temporary name, the marker is written last, and the archive is deleted unless ``options.keep_archive``.
    """
    done = read_extracted(source, layout)
    if done is not None:
        _drop_archive(archive, layout, done, options)  # a run killed between its marker and the deletion
        return done
    recipe = recipe_for(source)
    if not archive.is_file():
        raise ConfigError(f"{archive} not found; download it first (llavamix fetch {source.name})")
    result = recipe(source, archive, layout, options)
    shutil.rmtree(layout.staging(source.name), ignore_errors=True)  # a killed run's, whatever recipe it ran
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
