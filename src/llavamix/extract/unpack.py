"""Unpacking one archive into a source's target folder: list and check every member, plan where each lands,
refuse collisions, check disk space, then write. Nothing is written before the whole member list has been judged
(zip, tar); a gzipped tar is judged member by member while it is staged (and its disk space file by file), and
nothing reaches the target unless all of it passed.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from llavamix.catalog import Source
from llavamix.extract.archives import READ_ERRORS, corrupt, gzip_size_estimate, open_reader, stream_tar
from llavamix.extract.collisions import check_collisions
from llavamix.extract.model import Extracted, ExtractOptions
from llavamix.extract.plan import Mapper, Plan, files_of, roots
from llavamix.extract.space import Budget, check_file, check_plan
from llavamix.extract.write import move_plan, stage_members, write_plan
from llavamix.foundation.layout import Layout

log = logging.getLogger(__name__)


def unpack(source: Source, archive: Path, layout: Layout, options: ExtractOptions, mapper: Mapper) -> Extracted:
    """Extract ``archive`` (zip, tar or tar.gz per ``source.archive``) with members placed by ``mapper``."""
    try:
        if source.archive == "tar.gz":
            plan = _unpack_streamed(source, archive, layout, options, mapper)
        else:
            plan = _unpack_listed(source, archive, layout.target(source.into), options, mapper)
    except READ_ERRORS as exc:
        raise corrupt(archive, exc) from exc
    finally:
        options.progress.finish(source.name)
    files = files_of(plan)
    landed = roots(source.into, plan, source.image_prefixes)
    return Extracted(source.name, len(files), sum(m.size for m, _ in files), landed)


def _unpack_listed(source: Source, archive: Path, target: Path, options: ExtractOptions, mapper: Mapper) -> Plan:
    with open_reader(archive, source.archive) as reader:
        plan = mapper(archive, reader.members())
        check_collisions(archive, plan)
        if options.check_space:
            check_plan(archive, plan, target, options.claim(source.name))
        options.progress.start(source.name, sum(m.size for m, _ in files_of(plan)), "B")
        log.info("extracting %s: %d members into %s", archive.name, len(plan), target)
        write_plan(reader, plan, target, options.progress, source.name, options.jobs)
    return plan


def _unpack_streamed(source: Source, archive: Path, layout: Layout, options: ExtractOptions, mapper: Mapper) -> Plan:
    target = layout.target(source.into)
    estimate = gzip_size_estimate(archive)
    owed = 0
    if options.check_space:  # a floor; the budget below counts each staged file's blocks
        owed = check_file(archive, target, estimate, options.claim(source.name))
    staging = layout.staging(source.name)
    shutil.rmtree(staging, ignore_errors=True)  # what a killed run left
    budget = Budget(archive, target, owed) if options.check_space else None
    options.progress.start(source.name, estimate, "B")
    log.info("extracting %s through %s into %s", archive.name, staging, target)
    try:
        staged = stage_members(stream_tar(archive), staging, options.progress, source.name, budget)
        plan = mapper(archive, staged)
        check_collisions(archive, plan)
        move_plan(plan, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return plan
