"""Which sample each rank trains on, in which order: seeded per epoch, sharded by rank, resumable mid-epoch.

``LengthGroupedSampler`` reproduces the reference's modality-and-length grouping (Open-LLaVA-NeXT
``--group_by_modality_length``): mega-batches of ``batch_size x world_size x grad_accum`` indices of one modality,
sorted by length and dealt into even chunks, in a random order, with the leftovers of both modalities last.
Given the same seed it yields the reference's exact order (the reference draws from torch's global generator;
here one ``torch.Generator`` seeded with ``seed + epoch`` makes the same draws).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from llavamix.foundation.errors import ConfigError
from llavamix.foundation.extras import require

torch: Any = require("torch")


def even_chunks(indices: list[int], lengths: Sequence[int], n: int) -> list[list[int]]:
    """Deal ``indices`` (longest first) into ``n`` chunks of equal size and similar total length."""
    if len(indices) % n:
        return [indices[i::n] for i in range(n)]
    size = len(indices) // n
    chunks: list[list[int]] = [[] for _ in range(n)]
    totals: list[float] = [0] * n
    for index in indices:
        shortest = totals.index(min(totals))
        chunks[shortest].append(index)
        totals[shortest] += lengths[index]
        if len(chunks[shortest]) == size:
            totals[shortest] = float("inf")
    return chunks


def length_grouped_indices(lengths: Sequence[int], group: int, chunks: int, generator: Any) -> list[int]:
    """Random mega-batches of ``group`` indices, each sorted longest first and dealt into ``chunks`` chunks."""
    order = torch.randperm(len(lengths), generator=generator).tolist()
    out: list[int] = []
    for start in range(0, len(order), group):
        mega = sorted(order[start : start + group], key=lambda i: lengths[i], reverse=True)
        for chunk in even_chunks(mega, lengths, chunks):
            out.extend(chunk)
    return out


def modality_grouped_indices(lengths: Sequence[int], batch_size: int, world: int, generator: Any) -> list[int]:
    """The reference order: image (``length > 0``) and text-only (``< 0``) mega-batches never mix."""
    if any(n == 0 for n in lengths):
        raise ConfigError("a record has no words; the modality sampler needs every length non-zero")
    group = batch_size * world
    if all(n > 0 for n in lengths) or all(n < 0 for n in lengths):
        return length_grouped_indices(lengths, group, world, generator)
    image = [(i, n) for i, n in enumerate(lengths) if n > 0]
    text = [(i, -n) for i, n in enumerate(lengths) if n < 0]
    megas: list[list[int]] = []
    tails: list[int] = []
    for pairs in (image, text):
        ids, lens = [p[0] for p in pairs], [p[1] for p in pairs]
        ordered = [ids[k] for k in length_grouped_indices(lens, group, world, generator)]
        chunks = [ordered[s : s + group] for s in range(0, len(ordered), group)]
        megas.extend(chunks[:-1])
        tails.extend(chunks[-1])
    out = [i for k in torch.randperm(len(megas), generator=generator).tolist() for i in megas[k]]
    return out + sorted(tails)


def check_sharding(batch_size: int, world_size: int, rank: int) -> None:
    """Raise ConfigError unless ``batch_size >= 1`` and ``0 <= rank < world_size``."""
    if batch_size < 1 or world_size < 1 or not 0 <= rank < world_size:
        raise ConfigError(
            f"need batch_size >= 1 and 0 <= rank < world_size; got batch_size {batch_size}, rank {rank}, "
            f"world_size {world_size}"
        )


def epoch_generator(seed: int, epoch: int) -> Any:
    """The torch generator every random draw of ``epoch`` comes from."""
    return torch.Generator().manual_seed(seed + epoch)


class _EpochSampler(torch.utils.data.Sampler):
    """Shared machinery: an epoch's global order, this rank's share of it, and mid-epoch resume.

    The global order is cut into batches of ``batch_size``; rank ``r`` of ``world_size`` takes batches
    ``r, r + world_size, ...`` (how accelerate shards a batch sampler). The order is padded by repeating its start
    so that every rank gets the same number of full batches (``drop_last=True`` cuts instead); a single process
    keeps a short last batch.
    """

    def __init__(self, n: int, batch_size: int, world_size: int, rank: int, seed: int, drop_last: bool) -> None:
        check_sharding(batch_size, world_size, rank)
        self.n, self.batch_size, self.world_size, self.rank = n, batch_size, world_size, rank
        self.seed, self.drop_last = seed, drop_last
        self.epoch = 0
        self.consumed = 0  # indices of this epoch already handed out on this rank
        self._resume = 0

    def global_order(self, generator: Any) -> list[int]:
        raise NotImplementedError

    def set_epoch(self, epoch: int) -> None:
        """Start ``epoch`` (its order is drawn from ``seed + epoch``); forgets any pending resume position."""
        if epoch != self.epoch:
            self._resume = 0
        self.epoch = epoch

    def _span(self) -> int:
        step = self.batch_size * self.world_size
        if self.drop_last:
            return self.n // step * step
        # one process keeps a short last batch, as the reference does; several need equal shares
        return self.n if self.world_size == 1 else -(-self.n // step) * step

    def __len__(self) -> int:
        return self._span() // self.world_size

    def rank_order(self) -> list[int]:
        """This rank's indices for the current epoch, from the start."""
        order = self.global_order(epoch_generator(self.seed, self.epoch))
        span = self._span()
        if span > len(order) and order:
            order = (order * (span // len(order) + 1))[:span]
        order = order[:span]
        b, w = self.batch_size, self.world_size
        return [i for start in range(self.rank * b, span, b * w) for i in order[start : start + b]]

    def __iter__(self) -> Iterator[int]:
        # not a generator itself: the position is reset when iteration is requested, not at the first next()
        start, self._resume = self._resume, 0
        self.consumed = start
        return self._counted(self.rank_order()[start:])

    def _counted(self, order: list[int]) -> Iterator[int]:
        for index in order:
            self.consumed += 1
            yield index

    def state_dict(self) -> dict[str, int]:
        """``{"epoch", "seed", "consumed"}``. With a prefetching DataLoader, ``consumed`` counts what was handed
        out, which runs ahead of training: store ``steps_done * batch_size`` in it to resume exactly."""
        return {"epoch": self.epoch, "seed": self.seed, "consumed": self.consumed}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """The next iteration resumes ``state``'s epoch right after its ``consumed`` indices."""
        self.epoch, self.seed = int(state["epoch"]), int(state["seed"])
        self._resume = self.consumed = int(state["consumed"])


class LengthGroupedSampler(_EpochSampler):
    """The reference ``LengthGroupedSampler`` (``group_by_modality=True`` by default), sharded and resumable.

    ``lengths`` are the dataset's ``modality_lengths`` (or ``lengths`` without modality grouping). The grouping
    uses ``world_size * grad_accum`` chunks per mega-batch, as Open-LLaVA-NeXT's trainer does.
    """

    def __init__(
        self,
        lengths: Sequence[int],
        batch_size: int,
        *,
        world_size: int = 1,
        rank: int = 0,
        grad_accum: int = 1,
        seed: int = 0,
        group_by_modality: bool = True,
        drop_last: bool = False,
    ) -> None:
        super().__init__(len(lengths), batch_size, world_size, rank, seed, drop_last)
        self.lengths = list(lengths)
        self.chunks = world_size * grad_accum
        self.group_by_modality = group_by_modality

    def global_order(self, generator: Any) -> list[int]:
        if self.group_by_modality:
            return modality_grouped_indices(self.lengths, self.batch_size, self.chunks, generator)
        return length_grouped_indices(self.lengths, self.batch_size * self.chunks, self.chunks, generator)


class ShuffleSampler(_EpochSampler):
    """A seeded random permutation per epoch (``shuffle=False``: in order), sharded and resumable."""

    def __init__(
        self,
        n: int,
        *,
        batch_size: int = 1,
        world_size: int = 1,
        rank: int = 0,
        seed: int = 0,
        shuffle: bool = True,
        drop_last: bool = False,
    ) -> None:
        super().__init__(n, batch_size, world_size, rank, seed, drop_last)
        self.shuffle = shuffle

    def global_order(self, generator: Any) -> list[int]:
        return torch.randperm(self.n, generator=generator).tolist() if self.shuffle else list(range(self.n))
