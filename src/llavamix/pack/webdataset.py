"""Write one WebDataset tar shard: per record ``<key>.json`` (exact record bytes) and ``<key>.<ext>`` (image)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

from llavamix.io import atomic_writer
from llavamix.layout import Layout
from llavamix.pack.samples import shard_samples
from llavamix.records import MixFile
from llavamix.records.shards import ShardEntry, image_ext, sample_key

COPY_BUFFER = 16 << 20
USTAR = tarfile.USTAR_FORMAT


def _member(name: str, size: int) -> tarfile.TarInfo:
    # fixed metadata so the same records give byte-identical shards (no clock, owner or umask in them)
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, 0, 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def write_tar_shard(records: MixFile, layout: Layout, entry: ShardEntry, path: Path) -> int:
    """Write ``entry``'s records to ``path`` (via ``path.part``, renamed only when complete); returns its size.

    Any failure, a kill included, leaves nothing at ``path``: a rerun never mistakes a truncated tar for a shard.
    """
    # copybufsize: copy each member in one write instead of tarfile's default 16 KiB pieces
    with atomic_writer(path) as fh, tarfile.TarFile(fileobj=fh, mode="w", format=USTAR, copybufsize=COPY_BUFFER) as tar:
        for sample in shard_samples(records, layout, entry):
            key = sample_key(sample.index)
            members = [(f"{key}.json", sample.raw)]
            if sample.image is not None and sample.data is not None:
                members.append((f"{key}.{image_ext(sample.image)}", sample.data))
            for name, data in sorted(members):
                tar.addfile(_member(name, len(data)), io.BytesIO(data))
    return path.stat().st_size
