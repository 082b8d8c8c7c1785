"""A shard's content identity: a digest of what it is built from, so a rerun reuses exactly the unchanged shards.

It covers each packed record's index and exact JSON bytes and, for its image, the path and the file's size,
modification time and inode. Image bytes are not hashed: reading every image on every rerun would cost as much
as packing again, and any rewrite of a file (in place or by rename) changes its mtime or inode.
"""

from __future__ import annotations

import hashlib
import os
import struct

# bump when a writer's output changes for the same input, so shards written by an older llavamix are rebuilt
WRITER_VERSION = b"llavamix-pack-2"
_RECORD = struct.Struct("<QQ")  # index, JSON length
_IMAGE = struct.Struct("<BQQqQ")  # marker, path length, size, mtime_ns, inode


class ShardDigest:
    """Fed record by record, in shard order, by the planner and again by the writer that reads the same files."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256(WRITER_VERSION)

    def add(self, index: int, raw: bytes, image: str | None = None, stat: os.stat_result | None = None) -> None:
        """Record ``index`` with JSON ``raw``; ``image`` and ``stat``: its image path and the file's stat."""
        self._hash.update(_RECORD.pack(index, len(raw)))
        self._hash.update(raw)
        if image is None or stat is None:
            self._hash.update(b"\0")
            return
        path = image.encode("utf-8", "surrogatepass")
        self._hash.update(_IMAGE.pack(1, len(path), stat.st_size, stat.st_mtime_ns, stat.st_ino))
        self._hash.update(path)

    def hexdigest(self) -> str:
        return self._hash.hexdigest()
