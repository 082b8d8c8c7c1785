"""Plan a pack: check every record and image once, then cut the mix into shards of deterministic record ranges,
each named by the digest of what it is built from."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import msgspec

from llavamix.layout import Layout
from llavamix.pack.digest import ShardDigest
from llavamix.pack.options import PackOptions
from llavamix.records import MixFile, Record, decode_record
from llavamix.records.imagefile import locate_image
from llavamix.records.shards import Problem, ShardEntry, shard_name

TAR_BLOCK = 512


def check_record(
    records: MixFile, layout: Layout, i: int
) -> tuple[Record | None, os.stat_result | None, Problem | None]:
    """Record ``i`` decoded, its image file's stat (None if it has none), or the problem that keeps it out."""
    try:
        rec = decode_record(records.raw[i], records.path, i)  # MixFormatError for bytes that cannot be decoded
    except msgspec.ValidationError as exc:
        return None, None, Problem(i, "malformed", detail=str(exc))
    if not isinstance(rec.image, str):
        null = rec.has_image  # the key holds null: training would treat it as an image and crash
        return rec, None, Problem(i, "image_null", rec.id, detail="the record's image is null") if null else None
    image = locate_image(layout.root, rec.image)
    if image.code is not None:
        return rec, None, Problem(i, image.code, rec.id, rec.image, image.detail)
    return rec, image.stat, None


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
    """The shards of a pack in order, and the records that cannot be packed (missing images etc.).

    Ranges depend only on the mix, the image files' sizes and the options, so a rerun plans identical shards;
    a shard's digest changes exactly when one of its records or image files does.
    """
    problems: list[Problem] = []
    cut = _Cutter(name, options)
    by_records = options.shard_size.unit == "records"
    for i in range(len(records)):
        rec, stat, problem = check_record(records, layout, i)
        if problem is not None or rec is None:
            problems.append(problem or Problem(i, "malformed"))
            cut.skipped.append(i)
            continue
        raw = bytes(records.raw[i])
        image = rec.image if isinstance(rec.image, str) else None
        cost = _tar_bytes(len(raw)) + (_tar_bytes(stat.st_size) if stat is not None else 0)
        cut.add(i, 1 if by_records else cost, raw, image, stat)
    if cut.count or cut.skipped:
        cut.close(len(records))
    return cut.shards, problems
