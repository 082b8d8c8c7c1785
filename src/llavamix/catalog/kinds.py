"""The registry of source kinds, as data: each kind's name, the archive types it accepts and what it does.

A catalog is checked against this table when it loads, so a misspelled kind or a kind given the wrong archive
type is an error before a byte is fetched. What each kind *does* (its fetch hook and its lay-out step) is the
recipe of the same name at the composition layer, ``llavamix.recipes``; a test checks that the two tables agree.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from llavamix.foundation.errors import ConfigError

if TYPE_CHECKING:
    from llavamix.catalog.schema import Source

ARCHIVES = ("zip", "tar", "tar.gz", "none")
UNPACKED = ("zip", "tar", "tar.gz")


@dataclass(frozen=True)
class Kind:
    """One kind of source; ``needs_prefixes``: its recipe lands files by the source's ``image_prefixes``."""

    name: str
    archives: tuple[str, ...]
    description: str
    needs_prefixes: bool = False
    mirrored: bool = False  # its recipe may lay out a ``mirror`` zip of the images before it crawls the rest


ARCHIVE = Kind("archive", ARCHIVES, "an archive unpacked into `into` (minus `strip`), or a plain file placed there")
MIX_JSON = Kind("mix_json", ("none",), "the instruction mix JSON, placed in `into`; OCR-VQA crawls the keys it names")
VQA_COLLECTION = Kind(
    "vqa_collection",
    UNPACKED,
    "an archive of several dataset folders (its `image_prefixes`), found under at most one wrapper folder",
    needs_prefixes=True,
)
SAM = Kind("sam", UNPACKED, "an archive whose one folder of sa_<n>.jpg files lands flat in `into`")
OCRVQA = Kind(
    "ocrvqa",
    ("none",),
    "an image index (dataset.json) whose image URLs are crawled into `into`, after its `mirror` zip if any",
    mirrored=True,
)

KINDS: dict[str, Kind] = {k.name: k for k in (ARCHIVE, MIX_JSON, VQA_COLLECTION, SAM, OCRVQA)}


def kind_problem(source: Source) -> str | None:
    """Why ``source``'s kind does not fit the registry (unknown, wrong archive type, no folders), or None."""
    kind = KINDS.get(source.kind)
    if kind is None:
        close = difflib.get_close_matches(source.kind, KINDS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return f"kind {source.kind!r} is unknown{hint} (known kinds: {', '.join(KINDS)})"
    if source.archive not in kind.archives:
        return f"kind {kind.name!r} needs archive = {' | '.join(kind.archives)}, not {source.archive!r}"
    if kind.needs_prefixes and not source.image_prefixes:
        return f"kind {kind.name!r} lands its members by image_prefixes; list the folders the archive holds"
    if source.mirror and not kind.mirrored:
        mirrored = ", ".join(k.name for k in KINDS.values() if k.mirrored)
        return f"mirror is for kinds that crawl ({mirrored}), not kind {kind.name!r}; remove the key"
    return None


def kind_of(source: Source) -> Kind:
    """The registered kind of ``source``; ConfigError naming the source when it does not fit (a catalog file is
    checked when it loads, a ``Source`` built in code is checked here)."""
    problem = kind_problem(source)
    if problem is not None:
        raise ConfigError(f"source {source.name!r}: {problem}; fix the catalog entry")
    return KINDS[source.kind]
