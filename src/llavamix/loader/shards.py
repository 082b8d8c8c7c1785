"""The iterable training dataset over a packed mix (``llavamix pack`` WebDataset tar or Parquet shards), local or
at any fsspec URL (``s3://bucket/pack/``).

Each epoch the shards are shuffled with ``seed + epoch`` and dealt to ranks (rank ``r`` takes shards
``r, r + world_size, ...``), then to the rank's DataLoader workers the same way (``loader.lanes``): every worker
reads only its own shards, front to back, so per epoch the job reads each shard once whatever the number of ranks
and workers. A rank's stream is the DataLoader's round-robin of its workers' batches: deterministic for a given
number of workers (and a different order for another number). Resuming is skipping the first ``consumed`` samples
of that stream: each worker skips whole shards it had finished without opening them.
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec

from llavamix.foundation.errors import BadSampleError, ConfigError
from llavamix.foundation.extras import require
from llavamix.foundation.formats import parquet
from llavamix.foundation.formats.pack import STREAM_READERS, Manifest, ShardEntry, read_manifest
from llavamix.foundation.formats.samples import ShardSample
from llavamix.foundation.storage import StorageOptions, filesystem, is_url, local_path
from llavamix.loader.config import PreprocessConfig
from llavamix.loader.lanes import Lane, deal, lanes
from llavamix.loader.sample import POLICIES, SampleBuilder, decode, read_image
from llavamix.loader.sampler import check_sharding, epoch_generator
from llavamix.loader.shardio import ShardSource, open_shard

torch: Any = require("torch")
log = logging.getLogger(__name__)
MANIFEST_GLOB = "*.manifest.json"


def env_rank(world_size: int | None, rank: int | None) -> tuple[int, int]:
    """``world_size`` and ``rank``, each taken from ``WORLD_SIZE`` / ``RANK`` (as torchrun sets them) when None."""
    try:
        world = int(os.environ.get("WORLD_SIZE", "1")) if world_size is None else world_size
        this = int(os.environ.get("RANK", "0")) if rank is None else rank
    except ValueError:
        raise ConfigError(
            f"WORLD_SIZE={os.environ.get('WORLD_SIZE')!r} / RANK={os.environ.get('RANK')!r} are not integers; "
            "launch with torchrun, or pass world_size= and rank="
        ) from None
    return world, this


def load_pack(pack: Path | str, options: StorageOptions) -> tuple[Manifest, str]:
    """The pack's manifest and the folder (or URL prefix) of its shards; ``pack``: the manifest or its folder."""
    if not is_url(pack):
        path = local_path(pack)
        return read_manifest(path), str(path if path.is_dir() else path.parent)
    fs, where = filesystem(pack, options)
    if not where.endswith(".manifest.json"):
        found = sorted(fs.glob(f"{where.rstrip('/')}/{MANIFEST_GLOB}"))
        if len(found) != 1:
            raise ConfigError(f"{pack}: expected one {MANIFEST_GLOB}, found {len(found)}; pass the manifest's URL")
        where = found[0]
    try:
        manifest = msgspec.json.decode(fs.cat_file(where), type=Manifest)
    except FileNotFoundError:
        raise ConfigError(f"{pack}: no manifest; the pack is incomplete, rerun `llavamix pack`") from None
    except msgspec.DecodeError as exc:
        raise ConfigError(f"{pack}: not a llavamix pack manifest ({exc})") from None
    return manifest, fs.unstrip_protocol(where.rsplit("/", 1)[0])


class ShardDataset(torch.utils.data.IterableDataset):
    """Samples of a pack, equal to ``LlavaNextDataset``'s for the same records, streamed shard by shard.

    ``pack`` is the pack's manifest or folder, a path or an fsspec URL (``storage_options`` for its filesystem;
    credentials from the environment). ``cache_dir``: a local folder keeping each remote shard read, so later
    epochs read it from there. ``batch_size`` must equal the DataLoader's; ``num_workers``, when given, its
    ``num_workers`` (checked, and stored in ``state_dict`` so a resume with another count is refused).
    ``world_size`` / ``rank`` default to ``WORLD_SIZE`` / ``RANK`` from the environment. With ``even`` (the default)
    every rank's stream is cut to the shortest rank's length, so distributed ranks run the same number of steps.
    ``on_bad_sample="skip"`` drops a sample that cannot be built (logged, counted in ``skipped``).
    """

    def __init__(
        self,
        pack: Path | str,
        tokenizer: Any,
        config: PreprocessConfig | None = None,
        *,
        world_size: int | None = None,
        rank: int | None = None,
        batch_size: int = 1,
        seed: int = 0,
        shuffle: bool = True,
        even: bool = True,
        on_bad_sample: str = "raise",
        num_workers: int | None = None,
        cache_dir: Path | str | None = None,
        storage_options: StorageOptions | None = None,
    ) -> None:
        if on_bad_sample not in POLICIES:
            raise ConfigError(f"on_bad_sample is {on_bad_sample!r}; use 'raise' or 'skip'")
        world_size, rank = env_rank(world_size, rank)
        check_sharding(batch_size, world_size, rank)
        manifest, base = load_pack(pack, storage_options or {})
        self.entries: list[ShardEntry] = list(manifest.shards)
        self.source = ShardSource(base, dict(storage_options or {}), Path(cache_dir) if cache_dir else None)
        self.shards = [(self.source.target(s.name), s.records) for s in self.entries]
        self.build = SampleBuilder(tokenizer, config or PreprocessConfig())
        self.world_size, self.rank, self.batch_size = world_size, rank, batch_size
        self.seed, self.shuffle, self.even, self.on_bad_sample = seed, shuffle, even, on_bad_sample
        self.num_workers = num_workers
        self.epoch = 0
        self.resume = 0
        self.resume_workers: int | None = None
        self.skipped = 0

    def set_epoch(self, epoch: int) -> None:
        """Use ``epoch``'s shard order; a pending resume position only applies to the epoch it was saved in."""
        if epoch != self.epoch:
            self.resume = 0
        self.epoch = epoch

    def state_dict(self, consumed: int) -> dict[str, int]:
        """Resume state after the training loop took ``consumed`` samples of this epoch: the samples of the batches
        taken (with workers a worker's last batch may be short, so count them rather than steps x batch size)."""
        state = {"epoch": self.epoch, "seed": self.seed, "consumed": consumed}
        if self.num_workers is not None:
            state["workers"] = self.num_workers
        return state

    def load_state_dict(self, state: dict[str, int]) -> None:
        """The next iteration (in every worker) continues ``state``'s epoch after its ``consumed`` samples."""
        self.epoch, self.seed, self.resume = int(state["epoch"]), int(state["seed"]), int(state["consumed"])
        self.resume_workers = int(state["workers"]) if "workers" in state else None

    def _order(self) -> list[int]:
        if not self.shuffle:
            return list(range(len(self.shards)))
        return torch.randperm(len(self.shards), generator=epoch_generator(self.seed, self.epoch)).tolist()

    def rank_shards(self) -> list[str]:
        """This rank's shards (paths or URLs) for the current epoch, in reading order."""
        return [self.shards[k][0] for k in deal(self._order(), self.world_size, self.rank)]

    def __len__(self) -> int:
        """Samples in this rank's stream this epoch (before any resume)."""
        order = self._order()
        totals = [sum(self.shards[k][1] for k in deal(order, self.world_size, r)) for r in range(self.world_size)]
        return min(totals) if self.even else totals[self.rank]

    def lanes(self, workers: int) -> list[Lane]:
        """What each of ``workers`` DataLoader workers reads this epoch, from the resume position on."""
        mine = [(k, self.shards[k][1]) for k in deal(self._order(), self.world_size, self.rank)]
        return lanes(mine, workers, self.batch_size, self.resume, len(self))

    def __iter__(self) -> Iterator[dict[str, Any]]:
        info = torch.utils.data.get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        self._check_workers(workers if info is not None else 0)
        for item in self._lane_samples(self.lanes(workers)[worker]):
            sample = self._build(item)
            if sample is not None:
                yield sample

    def _check_workers(self, workers: int) -> None:
        saved = self.resume_workers if self.resume else None
        for what, expected in (("num_workers", self.num_workers), ("the resume state", saved)):
            if expected is not None and expected != workers:
                raise ConfigError(
                    f"{what} says {expected} DataLoader workers, the DataLoader has {workers}; the stream's order "
                    f"depends on it: use DataLoader(num_workers={expected}) to resume this position"
                )

    def _lane_samples(self, lane: Lane) -> Iterator[ShardSample]:
        skip, left = lane.skip, lane.take
        for k in lane.shards:
            if left <= 0:
                return
            records = self.shards[k][1]
            if skip >= records:  # finished before the resume position: not even opened
                skip -= records
                continue
            for item in self._read(self.entries[k]):
                if skip:
                    skip -= 1
                    continue
                if left <= 0:
                    return
                left -= 1
                yield item
            skip = 0

    def _read(self, entry: ShardEntry) -> Iterator[ShardSample]:
        suffix = Path(entry.name).suffix
        reader = STREAM_READERS.get(suffix)
        if reader is None:
            raise ConfigError(f"{entry.name}: not a shard (expected {' or '.join(STREAM_READERS)})")
        with open_shard(self.source, entry.name, entry.bytes, seekable=suffix == parquet.SUFFIX) as fh:
            yield from reader(fh, self.source.target(entry.name))

    def _build(self, item: ShardSample) -> dict[str, Any] | None:
        try:
            return self.sample(item)
        except BadSampleError as exc:
            if self.on_bad_sample == "raise":
                raise
            self.skipped += 1
            log.warning("skipping a bad sample: %s", exc)
            return None

    def sample(self, item: ShardSample) -> dict[str, Any]:
        """The training sample of one packed record."""
        record = decode(item.index, item.raw)
        image = None
        if self.build.image_wanted(item.index, record):
            source = io.BytesIO(item.image) if item.image is not None else None
            image = read_image(item.index, record, source, f"{record.image} (packed)")
        return self.build(item.index, record, image)
