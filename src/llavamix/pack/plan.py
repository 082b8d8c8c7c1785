"""Plan a pack: judge every record and image once, by verify's rules, then cut the mix into shards of deterministic
record ranges, each named by the digest of what it is built from.

A record is left out exactly when verify's quick checks give it an error (``records.rules``, then
``records.imagefile`` for its image), with verify's code: pack never writes a record training would crash on or
learn nothing from. Warnings do not keep a record out.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from llavamix.foundation.formats.pack import ShardEntry, shard_name
from llavamix.foundation.layout import Layout
from llavamix.foundation.records import MixFile, decode_with
from llavamix.foundation.records.imagefile import locate_image
from llavamix.foundation.records.problem import Problem
from llavamix.foundation.records.rules import Finding, check_record
from llavamix.pack.digest import ShardDigest
from llavamix.pack.options import PackOptions

TAR_BLOCK = 512
_decode = msgspec.json.Decoder().decode


@dataclass(frozen=True)
class Verdict:
    """What pack reads of one record: its image path and the file's stat (None: text-only), or the problem that
    keeps it out."""

    image: str | None = None
    stat: os.stat_result | None = None
    problem: Problem | None = None


def judge_record(layout: Layout, i: int, raw: bytes, mix: Path | str) -> Verdict:
    """Record ``i`` of ``mix`` (its JSON ``raw``) judged as verify judges it without decoding its image; raises
    MixFormatError for bytes that are not JSON text."""
    value = decode_with(_decode, raw, mix, i)
    found = check_record(value)
    if isinstance(found, Finding):
        rid = value.get("id") if type(value) is dict else None
        return Verdict(problem=Problem(i, rid, found.code, None, found.detail))
    image = value.get("image")
    if image is None:  # the rules passed, so the key is absent (text-only), never null
        return Verdict()
    located = locate_image(layout.root, image)
    if located.code is not None:
        return Verdict(problem=Problem(i, value.get("id"), located.code, image, located.detail))
    return Verdict(image, located.stat)


def _tar_bytes(n: int) -> int:
    # a tar member costs a header block plus its data rounded up to whole blocks
    return TAR_BLOCK + -(-n // TAR_BLOCK) * TAR_BLOCK


@dataclass
class _Cutter:
    """Accumulates records into the current shard and closes it when the next record would overflow it."""

    name: str
    options: PackOptions
    shards: list[ShardEntry] = field(default_factory=list)
    start: int = 0
    count: int = 0
    images: int = 0
    used: int = 0
    skipped: list[int] = field(default_factory=list)
    digest: ShardDigest = field(default_factory=ShardDigest)

    def add(self, i: int, cost: int, raw: bytes, image: str | None, stat: os.stat_result | None) -> None:
        if self.count and self.used + cost > self.options.shard_size.limit:
            self.close(i)
        self.count, self.images, self.used = self.count + 1, self.images + (stat is not None), self.used + cost
        self.digest.add(i, raw, image, stat)

    def close(self, stop: int) -> None:
        number = len(self.shards)
        entry = ShardEntry(shard_name(self.name, number, self.options.format), self.start, stop, self.count,
                           self.images, self.skipped, digest=self.digest.hexdigest())  # fmt: skip
        self.shards.append(entry)
        self.start, self.count, self.images, self.used, self.skipped = stop, 0, 0, 0, []
        self.digest = ShardDigest()


def plan_shards(
    records: MixFile, layout: Layout, name: str, options: PackOptions
) -> tuple[list[ShardEntry], list[Problem]]:
    """The shards of a pack in order, and the records that cannot be packed (those verify gives an error).

    Ranges depend only on the mix, the image files' sizes and the options, so a rerun plans identical shards;
    a shard's digest changes exactly when one of its records or image files does.
    """
    problems: list[Problem] = []
    cut = _Cutter(name, options)
    by_records = options.shard_size.unit == "records"
    for i in range(len(records)):
        raw = records.raw(i)
        verdict = judge_record(layout, i, raw, records.path)
        if verdict.problem is not None:
            problems.append(verdict.problem)
            cut.skipped.append(i)
            continue
        stat = verdict.stat
        cost = _tar_bytes(len(raw)) + (_tar_bytes(stat.st_size) if stat is not None else 0)
        cut.add(i, 1 if by_records else cost, raw, verdict.image, stat)
    if cut.count or cut.skipped:
        cut.close(len(records))
    return cut.shards, problems
