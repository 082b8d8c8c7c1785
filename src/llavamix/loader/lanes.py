"""Who reads which shard: an epoch's shards dealt to ranks, then to *lanes* (one per DataLoader worker), and where
each lane starts and stops so that the DataLoader's round-robin of worker batches forms one exact stream.

A lane reads its shards front to back and nothing else, so per epoch the whole job reads each shard once. The
DataLoader takes one batch from each worker in turn (skipping workers that have finished); ``batches`` replays
that order, which is how a rank's stream is cut to an even length and how a resume position (samples taken)
becomes a per-lane skip and the lane whose batch comes next.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from llavamix.foundation.errors import ConfigError


@dataclass(frozen=True)
class Lane:
    """One worker's share of a rank's epoch: ``shards`` (indices into the pack's shard list) in reading order,
    the first ``skip`` samples already taken, then ``take`` samples to yield."""

    shards: list[int]
    skip: int
    take: int


def deal(items: Sequence[int], parts: int, part: int) -> list[int]:
    """Part ``part`` of ``items`` dealt round-robin into ``parts``: items ``part, part + parts, ...``."""
    return list(items[part::parts])


def batches(counts: Sequence[int], batch_size: int) -> Iterator[tuple[int, int]]:
    """``(lane, size)`` of every batch in the order an in-order DataLoader delivers them: one batch from each lane
    that still has samples, in turn; a lane's last batch may be short."""
    left = list(counts)
    while any(left):
        for lane, n in enumerate(left):
            if n:
                size = min(batch_size, n)
                left[lane] -= size
                yield lane, size


def plan(counts: Sequence[int], batch_size: int, start: int, limit: int) -> tuple[list[int], list[int], int]:
    """Per lane (with ``counts`` samples each) how many samples come before ``start`` and before ``limit`` in the
    stream, and the lane whose batch comes first after ``start`` (0 when none does).

    ``start`` must fall between two batches: resume positions count the samples of the batches taken."""
    before = [0] * len(counts)
    upto = [0] * len(counts)
    first, position = 0, 0
    for lane, size in batches(counts, batch_size):
        if position >= limit:
            break
        if position == start:
            first = lane
        if position < start < position + size:
            raise ConfigError(
                f"resume position {start} falls inside a batch of this stream (one of {size} samples starts at "
                f"{position}); save the number of samples in the batches taken (sum of their lengths), which with "
                "workers is not always steps x batch_size"
            )
        size = min(size, limit - position)
        before[lane] += size if position < start else 0
        upto[lane] += size
        position += size
    return before, upto, first


def lanes(shards: Sequence[tuple[int, int]], workers: int, batch_size: int, start: int, limit: int) -> list[Lane]:
    """The lanes of a rank that reads ``shards`` (``(shard index, samples)`` in reading order) with ``workers``
    lanes, resumed at ``start`` and cut at ``limit``, rotated so that worker 0 plays the lane whose batch comes
    next (the DataLoader always asks worker 0 first)."""
    dealt = [deal(range(len(shards)), workers, w) for w in range(workers)]
    counts = [sum(shards[k][1] for k in ks) for ks in dealt]
    before, upto, first = plan(counts, batch_size, start, limit)
    made = [Lane([shards[k][0] for k in dealt[w]], before[w], upto[w] - before[w]) for w in range(workers)]
    return made[first:] + made[:first]
