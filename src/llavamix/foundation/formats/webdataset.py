"""WebDataset tar shards: every record is a sample keyed by its zero-padded record index, ``<key>.json`` holding the
record's exact JSON and ``<key>.<ext>`` its image bytes under the image's own extension (none for text-only)."""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from llavamix.foundation.errors import ConfigError
from llavamix.foundation.formats.samples import Sample, ShardSample, image_ext
from llavamix.foundation.io import atomic_writer

SUFFIX = ".tar"
KEY_DIGITS = 9  # sample keys sort in record order up to a billion records
COPY_BUFFER = 16 << 20
USTAR = tarfile.USTAR_FORMAT


def sample_key(index: int) -> str:
    """The WebDataset key of mix record ``index``: digits only (WebDataset splits keys at the first dot)."""
    return f"{index:0{KEY_DIGITS}d}"


def _member(name: str, size: int) -> tarfile.TarInfo:
    # fixed metadata so the same records give byte-identical shards (no clock, owner or umask in them)
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, 0, 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def _members(sample: Sample) -> list[tuple[str, bytes]]:
    key = sample_key(sample.index)
    members = [(f"{key}.json", sample.raw)]
    if sample.image is not None and sample.data is not None:
        members.append((f"{key}.{image_ext(sample.image)}", sample.data))
    return sorted(members)


def write_shard(samples: Iterable[Sample], path: Path) -> int:
    """Write ``samples`` to the tar ``path`` (via ``path.part``, renamed only when complete); returns its size.

    Any failure, a kill included, leaves nothing at ``path``: a rerun never mistakes a truncated tar for a shard.
    """
    # copybufsize: copy each member in one write instead of tarfile's default 16 KiB pieces
    with atomic_writer(path) as fh, tarfile.TarFile(fileobj=fh, mode="w", format=USTAR, copybufsize=COPY_BUFFER) as tar:
        for sample in samples:
            for name, data in _members(sample):
                tar.addfile(_member(name, len(data)), io.BytesIO(data))
    return path.stat().st_size


def iter_shard(path: Path) -> Iterator[ShardSample]:
    """The samples of the tar shard ``path``, in order, read in one streaming pass."""
    with open(path, "rb") as fh:
        yield from read_stream(fh, str(path))


def read_stream(fh: IO[bytes], name: str) -> Iterator[ShardSample]:
    """The samples of a tar shard read front to back from ``fh`` (no seeking: a network stream will do);
    ``name`` names the shard in errors."""
    current: str | None = None
    parts: dict[str, bytes] = {}
    with tarfile.open(fileobj=fh, mode="r|") as tar:
        for member in tar:
            if not member.isfile():
                continue
            key, _, ext = member.name.partition(".")
            if key != current and current is not None:
                yield _sample(name, current, parts)
                parts = {}
            current = key
            data = tar.extractfile(member)
            parts[ext] = data.read() if data is not None else b""
    if current is not None:
        yield _sample(name, current, parts)


def _sample(name: str, key: str, parts: dict[str, bytes]) -> ShardSample:
    raw = parts.pop("json", None)
    if raw is None or not key.isdigit():
        raise ConfigError(f"{name}: sample {key!r} has no .json member; the shard was not written by llavamix pack")
    ext, data = next(iter(parts.items()), (None, None))
    return ShardSample(int(key), raw, data, ext)
