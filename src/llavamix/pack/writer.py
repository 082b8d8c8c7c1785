"""``ShardWriter``: the per-shard work of a pack, the one function every engine runs (threads here, Ray tasks in
``llavamix.ray``): read a planned shard's records and images, write the shard file atomically."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from llavamix.foundation.formats.pack import ShardEntry
from llavamix.foundation.layout import Layout
from llavamix.foundation.records import MixFile
from llavamix.pack.folder import PackFolder
from llavamix.pack.samples import shard_samples


class ShardWriter:
    """Writes shards of one pack. It pickles as the mix's path (a mapped file does not travel): where it is
    unpickled, in another process or on another node, the mix is opened again, once per process and file state."""

    def __init__(self, fmt: str, records: MixFile, layout: Layout, folder: PackFolder) -> None:
        self.fmt, self.records, self.layout, self.folder = fmt, records, layout, folder

    def __call__(self, shard: ShardEntry) -> int:
        # the folder writes the shard atomically: a local file renamed, or an object uploaded whole
        return self.folder.write_shard(self.fmt, shard_samples(self.records, self.layout, shard), shard.name)

    def __reduce__(self) -> tuple[Any, ...]:
        return _reopened, (self.fmt, self.records.path, self.layout, self.folder)


def _reopened(fmt: str, mix: Path, layout: Layout, folder: PackFolder) -> ShardWriter:
    st = Path(mix).stat()
    return ShardWriter(fmt, _open(mix, st.st_size, st.st_mtime_ns), layout, folder)


@functools.lru_cache(maxsize=2)
def _open(mix: Path, size: int, mtime_ns: int) -> MixFile:
    # size and mtime are part of the key so that a long-lived worker never packs from a stale copy of an edited mix
    return MixFile(mix)
