"""Plan a pack: check every record and image once, then cut the mix into shards of deterministic record ranges."""

from __future__ import annotations

from dataclasses import dataclass, field

import msgspec

from llavamix.layout import Layout
from llavamix.pack.options import PackOptions
from llavamix.records import MixFile, Record, decode_record, not_utf8
from llavamix.records.shards import Problem, ShardEntry, shard_name

TAR_BLOCK = 512


def check_record(records: MixFile, layout: Layout, i: int) -> tuple[Record | None, int, Problem | None]:
    """Record ``i`` decoded, its image's size in bytes (0 if none), or the problem that keeps it out of a pack."""
    try:
        rec = decode_record(records.raw[i])
    except msgspec.ValidationError as exc:
        return None, 0, Problem(i, "malformed", detail=str(exc))
    except UnicodeDecodeError as exc:
        raise not_utf8(records.path, i, exc) from None
    if not isinstance(rec.image, str):
        null = rec.has_image  # the key holds null: training would treat it as an image and crash
        return rec, 0, Problem(i, "image_null", rec.id, detail="the record's image is null") if null else None
    try:
        return rec, layout.image(rec.image).stat().st_size, None
    except OSError as exc:
        return rec, 0, Problem(i, "missing", rec.id, rec.image, exc.strerror or str(exc))


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

    def add(self, i: int, cost: int, image: bool) -> None:
        if self.count and self.used + cost > self.options.shard_size.limit:
            self.close(i)
        self.count, self.images, self.used = self.count + 1, self.images + image, self.used + cost

    def close(self, stop: int) -> None:
        number = len(self.shards)
        entry = ShardEntry(shard_name(self.name, number, self.options.format), self.start, stop, self.count,
                           self.images, self.skipped)  # fmt: skip
        self.shards.append(entry)
        self.start, self.count, self.images, self.used, self.skipped = stop, 0, 0, 0, []


def plan_shards(
    records: MixFile, layout: Layout, name: str, options: PackOptions
) -> tuple[list[ShardEntry], list[Problem]]:
    """The shards of a pack in order, and the records that cannot be packed (missing images etc.).

    Ranges depend only on the mix, the image files' sizes and the options, so a rerun plans identical shards.
    """
    problems: list[Problem] = []
    cut = _Cutter(name, options)
    by_records = options.shard_size.unit == "records"
    for i in range(len(records)):
        rec, image_bytes, problem = check_record(records, layout, i)
        if problem is not None or rec is None:
            problems.append(problem or Problem(i, "malformed"))
            cut.skipped.append(i)
            continue
        cost = _tar_bytes(len(records.raw[i])) + (_tar_bytes(image_bytes) if rec.has_image else 0)
        cut.add(i, 1 if by_records else cost, rec.has_image)
    if cut.count or cut.skipped:
        cut.close(len(records))
    return cut.shards, problems
