"""The records of one shard as the writers read them, checked against what the shard was planned from."""

from __future__ import annotations

from collections.abc import Iterator

import msgspec

from llavamix.catalog import known_prefixes
from llavamix.foundation.errors import PackError
from llavamix.foundation.formats.pack import ShardEntry
from llavamix.foundation.formats.samples import Sample
from llavamix.foundation.layout import Layout, image_prefix
from llavamix.foundation.records import MixFile, Record, Turn, decode_with
from llavamix.foundation.records.rules import Finding, check_record
from llavamix.pack.digest import ShardDigest
from llavamix.pack.images import read_image

_decode = msgspec.json.Decoder().decode


def data_source(image: str) -> str:
    """The catalog source that provides an image path (its folder prefix when no source claims it)."""
    known = known_prefixes()
    prefix = image_prefix(image, known)
    return known.get(prefix, prefix)


def shard_samples(records: MixFile, layout: Layout, entry: ShardEntry) -> Iterator[Sample]:
    """``entry``'s samples in order; raises PackError after the last one if a record or image changed since the
    pack was planned, so the writer discards the shard instead of publishing content its digest does not name."""
    digest = ShardDigest()
    for i in entry.indices():
        raw = records.raw(i)
        rec = _record(records, entry, i, raw)
        if not isinstance(rec.image, str):
            digest.add(i, raw)
            yield Sample(i, raw, rec)
            continue
        data, stat = read_image(layout, rec.image)
        digest.add(i, raw, rec.image, stat)
        yield Sample(i, raw, rec, rec.image, data, data_source(rec.image))
    if digest.hexdigest() != entry.digest:
        raise PackError(
            f"{entry.name}: records {entry.start}..{entry.stop - 1} of {records.path} or their images changed "
            "while the pack ran; rerun `llavamix pack` to rebuild this shard from their current state"
        )


def _record(records: MixFile, entry: ShardEntry, i: int, raw: bytes) -> Record:
    """Record ``i`` as the writers read it, built from the plain JSON value verify's rules passed: any JSON ``id``
    is kept (the rules do not judge ids), where a strict ``Record`` decode would refuse a float or an array."""
    value = decode_with(_decode, raw, records.path, i)
    found = check_record(value)
    if isinstance(found, Finding):  # the plan checked this record: it was edited since
        raise PackError(
            f"{entry.name}: record {i} of {records.path} changed while the pack ran and now has an error "
            f"({found.code}: {found.detail}); fix it, then rerun `llavamix pack`"
        )
    turns = [Turn(turn["from"], turn["value"]) for turn in value["conversations"]]
    return Record(turns, value.get("id"), value.get("image", msgspec.UNSET))
