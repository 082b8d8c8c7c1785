"""The records of one shard as the writers read them, checked against what the shard was planned from."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from llavamix.errors import PackError
from llavamix.layout import Layout
from llavamix.pack.digest import ShardDigest
from llavamix.pack.images import read_image
from llavamix.records import MixFile, Record, decode_record
from llavamix.records.shards import ShardEntry


@dataclass(frozen=True)
class Sample:
    """Record ``index``: its exact JSON bytes, the decoded record, and its image path and bytes (None: text-only)."""

    index: int
    raw: bytes
    record: Record
    image: str | None = None
    data: bytes | None = None


def shard_samples(records: MixFile, layout: Layout, entry: ShardEntry) -> Iterator[Sample]:
    """``entry``'s samples in order; raises PackError after the last one if a record or image changed since the
    pack was planned, so the writer discards the shard instead of publishing content its digest does not name."""
    digest = ShardDigest()
    for i in entry.indices():
        raw = bytes(records.raw[i])
        rec = decode_record(raw)
        if not isinstance(rec.image, str):
            digest.add(i, raw)
            yield Sample(i, raw, rec)
            continue
        data, stat = read_image(layout, rec.image)
        digest.add(i, raw, rec.image, stat)
        yield Sample(i, raw, rec, rec.image, data)
    if digest.hexdigest() != entry.digest:
        raise PackError(
            f"{entry.name}: records {entry.start}..{entry.stop - 1} of {records.path} or their images changed "
            "while the pack ran; rerun `llavamix pack` to rebuild this shard from their current state"
        )
