"""The pack stage: ``pack_mix`` writes a mix and its images as WebDataset tar or Parquet shards, resumably.

Only the orchestration lives here: judging records (``plan``), cutting shards and their digests (``digest``),
reading each shard's records and images (``samples``), running the shard writes and writing the manifest last
(``run``). The files themselves (shard names, manifest, the tar and Parquet layouts, their writers and readers) are
``llavamix.foundation.formats``', so loaders read a pack without importing this stage. A stage: imports the
catalog and the foundation only.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llavamix.pack.options import PackOptions, ShardSize
    from llavamix.pack.run import PackReport, pack_mix
else:  # each name above is imported on first use, so importing the package costs nothing
    from llavamix.foundation.lazy import lazy_exports

    __getattr__, __dir__, __all__ = lazy_exports(__name__)
