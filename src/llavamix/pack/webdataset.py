"""Write one WebDataset tar shard: per record ``<key>.json`` (exact record bytes) and ``<key>.<ext>`` (image)."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

from llavamix.io import atomic_writer
from llavamix.layout import Layout
from llavamix.records import MixFile, decode_record
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
    """Write ``entry``'s records to ``path`` (via ``path.part``, renamed when complete); returns its size."""
    # copybufsize: copy each member in one write instead of tarfile's default 16 KiB pieces
    with atomic_writer(path) as fh, tarfile.TarFile(fileobj=fh, mode="w", format=USTAR, copybufsize=COPY_BUFFER) as tar:
        for i in entry.indices():
            raw = bytes(records.raw[i])
            rec = decode_record(raw)
            key = sample_key(i)
            members = [(f"{key}.json", raw)]
            if isinstance(rec.image, str):
                members.append((f"{key}.{image_ext(rec.image)}", layout.image(rec.image).read_bytes()))
            for name, data in sorted(members):
                tar.addfile(_member(name, len(data)), io.BytesIO(data))
    return path.stat().st_size
