"""The recipe's ``[dedup]``: a record whose key equals an earlier kept record's is left out (first occurrence
wins, in input order). Keys: ``id`` (the id's JSON), ``text`` (the normalised conversation), ``image_bytes``
(the image file's content) and ``phash`` (the perceptual hash, within ``phash_distance`` bits). Only 64-bit
digests are kept, one per kept record and key, so memory is a few dozen bytes per record."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from llavamix.mix.facts import Facts
from llavamix.mix.images import InputImages
from llavamix.mix.recipe import Dedup

BITS = 64


class NearSet:
    """64-bit hashes, asked "is there one within ``distance`` bits?": split into ``distance + 1`` bands, two hashes
    that close agree on at least one whole band (pigeonhole), so only hashes sharing a band are compared."""

    def __init__(self, distance: int) -> None:
        self.distance = distance
        self.bands = [
            (start, min(BITS, start + -(-BITS // (distance + 1))))
            for start in range(0, BITS, -(-BITS // (distance + 1)))
        ]
        self.tables: list[defaultdict[int, list[int]]] = [defaultdict(list) for _ in self.bands]

    def _band_values(self, value: int) -> list[int]:
        return [(value >> lo) & ((1 << (hi - lo)) - 1) for lo, hi in self.bands]

    def near(self, value: int) -> bool:
        for table, band in zip(self.tables, self._band_values(value), strict=True):
            if any((value ^ other).bit_count() <= self.distance for other in table.get(band, ())):
                return True
        return False

    def add(self, value: int) -> None:
        for table, band in zip(self.tables, self._band_values(value), strict=True):
            table[band].append(value)


class Deduplicator:
    """The keys seen so far, over every input."""

    def __init__(self, spec: Dedup) -> None:
        self.by = list(spec.by)
        self.seen: dict[str, set[int]] = {key: set() for key in self.by if key != "phash"}
        self.near = NearSet(spec.phash_distance)

    def settle(self, keys: tuple[int | None, ...]) -> str | None:
        """The first key on which ``keys`` repeat a kept record's, else None (and they are remembered)."""
        for key, value in zip(self.by, keys, strict=True):
            if value is not None and self._seen(key, value):
                return key
        for key, value in zip(self.by, keys, strict=True):
            if value is not None:
                self._remember(key, value)
        return None

    def _seen(self, key: str, value: int) -> bool:
        return self.near.near(value) if key == "phash" else value in self.seen[key]

    def _remember(self, key: str, value: int) -> None:
        if key == "phash":
            self.near.add(value)
        else:
            self.seen[key].add(value)


def dedup_keys(by: Sequence[str], facts: Facts, images: InputImages) -> tuple[int | None, ...]:
    """The record's value of each key of ``by`` (None: it has none); no state is read or changed, so any process
    may compute them (``Deduplicator.settle`` then judges them in input order)."""
    return tuple(dedup_key(key, facts, images) for key in by)


def dedup_key(key: str, facts: Facts, images: InputImages) -> int | None:
    """The record's value of one dedup key, None when it has none (no id, no image, an unreadable image)."""
    if key == "id":
        return facts.id_key()
    if key == "text":
        return facts.text_key()
    if facts.image is None:
        return None  # text-only: no image to compare
    return images.content(facts.image) if key == "image_bytes" else images.phash(facts.image)


def unreadable(by: Sequence[str], facts: Facts, keys: tuple[int | None, ...]) -> int:
    """1 when the record has an image that an image key could not read, else 0."""
    image_keys = (v for k, v in zip(by, keys, strict=True) if k in ("image_bytes", "phash"))
    return int(facts.image is not None and any(v is None for v in image_keys))
