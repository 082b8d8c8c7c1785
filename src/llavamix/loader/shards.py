"""The iterable training dataset over a packed mix (``llavamix pack`` WebDataset tar or Parquet shards).

Each epoch the shards are shuffled with ``seed + epoch`` and dealt to ranks (rank ``r`` takes shards
``r, r + world_size, ...``); a rank's samples, read in that shard order, form its *stream*. DataLoader workers split
the stream by batch (worker ``w`` builds batches ``w, w + workers, ...``), so with an in-order DataLoader the batches
arrive in stream order whatever the number of workers, and resuming is skipping the first ``consumed`` positions.
Every worker reads all of its rank's shards but decodes only its own samples.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from llavamix.foundation.errors import BadSampleError, ConfigError
from llavamix.foundation.extras import require
from llavamix.foundation.formats.pack import iter_shard, read_manifest
from llavamix.foundation.formats.samples import ShardSample
from llavamix.loader.config import PreprocessConfig
from llavamix.loader.sample import POLICIES, SampleBuilder, decode, read_image
from llavamix.loader.sampler import check_sharding, epoch_generator

torch: Any = require("torch")
log = logging.getLogger(__name__)


class ShardDataset(torch.utils.data.IterableDataset):
    """Samples of a pack, equal to ``LlavaNextDataset``'s for the same records, streamed shard by shard.

    ``pack`` is the pack's manifest or folder. ``batch_size`` must equal the DataLoader's. With ``even`` (the
    default) every rank's stream is cut to the shortest rank's length, so distributed ranks run the same number of
    steps. ``on_bad_sample="skip"`` drops a sample that cannot be built (logged, counted in ``skipped``).
    """

    def __init__(
        self,
        pack: Path | str,
        tokenizer: Any,
        config: PreprocessConfig | None = None,
        *,
        world_size: int = 1,
        rank: int = 0,
        batch_size: int = 1,
        seed: int = 0,
        shuffle: bool = True,
        even: bool = True,
        on_bad_sample: str = "raise",
    ) -> None:
        if on_bad_sample not in POLICIES:
            raise ConfigError(f"on_bad_sample is {on_bad_sample!r}; use 'raise' or 'skip'")
        check_sharding(batch_size, world_size, rank)
        pack = Path(pack)
        manifest = read_manifest(pack)
        folder = pack if pack.is_dir() else pack.parent
        self.shards = [(folder / s.name, s.records) for s in manifest.shards]
        self.build = SampleBuilder(tokenizer, config or PreprocessConfig())
        self.world_size, self.rank, self.batch_size = world_size, rank, batch_size
        self.seed, self.shuffle, self.even, self.on_bad_sample = seed, shuffle, even, on_bad_sample
        self.epoch = 0
        self.resume = 0
        self.skipped = 0

    def set_epoch(self, epoch: int) -> None:
        """Use ``epoch``'s shard order; a pending resume position only applies to the epoch it was saved in."""
        if epoch != self.epoch:
            self.resume = 0
        self.epoch = epoch

    def state_dict(self, consumed: int) -> dict[str, int]:
        """Resume state after the training loop took ``consumed`` samples of this epoch (steps x batch size)."""
        return {"epoch": self.epoch, "seed": self.seed, "consumed": consumed}

    def load_state_dict(self, state: dict[str, int]) -> None:
        """The next iteration (in every worker) continues ``state``'s epoch after its ``consumed`` samples."""
        self.epoch, self.seed, self.resume = int(state["epoch"]), int(state["seed"]), int(state["consumed"])

    def _order(self) -> list[int]:
        if not self.shuffle:
            return list(range(len(self.shards)))
        return torch.randperm(len(self.shards), generator=epoch_generator(self.seed, self.epoch)).tolist()

    def rank_shards(self) -> list[Path]:
        """This rank's shards for the current epoch, in reading order."""
        return [self.shards[k][0] for k in self._order()[self.rank :: self.world_size]]

    def __len__(self) -> int:
        """Samples in this rank's stream this epoch (before any resume)."""
        order = self._order()
        totals = [sum(self.shards[k][1] for k in order[r :: self.world_size]) for r in range(self.world_size)]
        return min(totals) if self.even else totals[self.rank]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        info = torch.utils.data.get_worker_info()
        worker, workers = (info.id, info.num_workers) if info is not None else (0, 1)
        start, limit = self.resume, len(self)
        for position, item in enumerate(self._stream()):
            if position >= limit:
                return
            if position < start or ((position - start) // self.batch_size) % workers != worker:
                continue
            sample = self._build(item)
            if sample is not None:
                yield sample

    def _stream(self) -> Iterator[ShardSample]:
        for path in self.rank_shards():
            yield from iter_shard(path)

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
