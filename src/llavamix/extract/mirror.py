"""Laying out a mirror zip of crawled images (OCR-VQA's): each member lands as ``<target>/<key>.jpg``, its bytes
passed through the caller's ``Normalise`` first (the crawl's own JPEG normalisation: the composition layer hands
it over, since stages never import each other). The member layout is detected from the names
(``ocr_vqa/images/<key>.<ext>``, ``images/<key>.<ext>`` or ``<key>.<ext>``); anything else is refused before a
byte is written, naming members.

Resumable: a key whose file is there is not written again, and every file goes through a temporary name.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from llavamix.extract.archives import READ_ERRORS, Member, Reader, corrupt, open_reader
from llavamix.extract.collisions import check_collisions
from llavamix.extract.model import ExtractOptions
from llavamix.extract.plan import Plan, is_junk
from llavamix.extract.space import check_plan
from llavamix.foundation.errors import ArchiveLayoutError
from llavamix.foundation.io import atomic_write_bytes
from llavamix.foundation.layout import component_problem
from llavamix.foundation.tasks import CANCEL

log = logging.getLogger(__name__)

LAYOUTS = (("ocr_vqa", "images"), ("images",), ())  # the folders a mirror's images may sit in, most specific first
EXT = ".jpg"
MAX_MEMBER = 64 << 20  # a bigger member is no book cover: left to the crawl, as an unreadable one is

Normalise = Callable[[bytes], bytes | None]  # an image's bytes as they land, or None: not an image


@dataclass
class MirrorLaid:
    """A mirror's lay-out: the keys whose image it holds (landed now or by an earlier run), how many files it
    wrote this run, and the members it left to the crawl (not an image), by key."""

    keys: list[str] = field(default_factory=list)
    written: int = 0
    bytes: int = 0
    unreadable: dict[str, str] = field(default_factory=dict)


def mirror_plan(archive: Path, members: list[Member]) -> Plan:
    """Every image member -> ``<key>.jpg``, the layout detected from the names; ArchiveLayoutError otherwise."""
    files = [m for m in members if not m.is_dir and not is_junk(m.path)]
    if not files:
        raise ArchiveLayoutError(f"{archive}: no files in it; it is not a mirror of the crawled images")
    for folder in LAYOUTS:
        if all(m.path.parent.parts == folder for m in files):
            return [(m, PurePosixPath(m.path.stem + EXT)) for m in files if _plain_key(m)]
    names = ", ".join(repr(m.name) for m in files[:5])
    raise ArchiveLayoutError(
        f"{archive}: the members are not images in one of the known layouts (ocr_vqa/images/<key>.jpg, "
        f"images/<key>.jpg or <key>.jpg, any extension): e.g. {names}. Nothing was extracted; point the catalog's "
        "mirror at another copy, or pass --no-mirror to crawl every image"
    )


def _plain_key(member: Member) -> bool:
    key = member.path.stem
    if key and not key.startswith(".") and component_problem(key + EXT) is None:
        return True
    log.warning("%s: not an image key, skipped", member.name)
    return False


def lay_out_mirror(archive: Path, target: Path, normalise: Normalise, options: ExtractOptions, key: str) -> MirrorLaid:
    """Land the mirror's images in ``target``; ``key`` names its progress and its space claim."""
    try:
        with open_reader(archive, "zip") as reader:
            plan = mirror_plan(archive, reader.members())
            check_collisions(archive, plan)  # a.jpg and a.png would land on one name
            if options.check_space:
                check_plan(archive, plan, target, options.claim(key))
            target.mkdir(parents=True, exist_ok=True)
            return _write(reader, plan, target, normalise, options, key)
    except READ_ERRORS as exc:
        raise corrupt(archive, exc) from exc


def _write(
    reader: Reader, plan: Plan, target: Path, normalise: Normalise, options: ExtractOptions, key: str
) -> MirrorLaid:
    laid = MirrorLaid()
    options.progress.start(key, len(plan), "files")
    try:
        for member, rel in plan:
            CANCEL.check()  # Ctrl-C stops between members; each written one is whole
            _land(reader, member, target / rel, normalise, laid)
            options.progress.advance(key, 1)
    finally:
        options.progress.finish(key)
    log.info("%s: %d images written, %d left to the crawl", key, laid.written, len(laid.unreadable))
    return laid


def _land(reader: Reader, member: Member, dest: Path, normalise: Normalise, laid: MirrorLaid) -> None:
    name = dest.stem
    if dest.is_file():  # landed by an earlier, interrupted run
        laid.keys.append(name)
        return
    data = _read(reader, member)
    image = None if data is None else normalise(data)
    if image is None:
        laid.unreadable[name] = f"{member.name}: not a readable image"
        return
    atomic_write_bytes(dest, image, durable=False)  # no fsync per image: the mirror's marker covers them all
    laid.keys.append(name)
    laid.written += 1
    laid.bytes += len(image)


def _read(reader: Reader, member: Member) -> bytes | None:
    if member.size > MAX_MEMBER:
        return None
    with reader.open(member) as src:
        return src.read(MAX_MEMBER + 1)
