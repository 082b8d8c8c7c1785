"""The pack stage: ``pack_mix`` writes a mix and its images as WebDataset tar or Parquet shards, resumably.

Shard names, sample keys, the manifest and the Parquet schema live in ``llavamix.records.shards``.
"""

from llavamix.pack.options import PackOptions, ShardSize
from llavamix.pack.run import PackReport, pack_mix

__all__ = ["PackOptions", "PackReport", "ShardSize", "pack_mix"]
