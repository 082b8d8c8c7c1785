"""A pack folder (``llavamix pack``): shards named ``<name>-000000.tar`` (WebDataset) or ``.parquet``, each covering
a fixed range of mix records, the plan written before them and the manifest written last, which lists them.

The manifest is the pack's completion marker: its presence means every shard it lists is complete. Writing and
reading one shard is its format's (``formats.webdataset``, ``formats.parquet``); this module picks the format.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO, Literal

import msgspec

from llavamix.foundation.errors import ConfigError
from llavamix.foundation.formats import parquet, webdataset
from llavamix.foundation.formats.markers import load_marker, read_marker, write_marker
from llavamix.foundation.formats.samples import Sample, ShardSample
from llavamix.foundation.io import NotRegularFileError
from llavamix.foundation.records.problem import Problem

Format = Literal["webdataset", "parquet"]
FORMATS: tuple[Format, ...] = ("webdataset", "parquet")
SUFFIX: dict[str, str] = {"webdataset": webdataset.SUFFIX, "parquet": parquet.SUFFIX}
WRITERS: dict[str, Callable[[Iterable[Sample], Path], int]] = {
    "webdataset": webdataset.write_shard,
    "parquet": parquet.write_shard,
}
READERS: dict[str, Callable[[Path], Iterator[ShardSample]]] = {
    webdataset.SUFFIX: webdataset.iter_shard,
    parquet.SUFFIX: parquet.iter_shard,
}
# the same readers over an open file (a network stream, a cached copy), by shard suffix
STREAM_READERS: dict[str, Callable[[IO[bytes], str], Iterator[ShardSample]]] = {
    webdataset.SUFFIX: webdataset.read_stream,
    parquet.SUFFIX: parquet.read_stream,
}
MANIFEST_VERSION = 1


def shard_name(name: str, number: int, fmt: Format) -> str:
    """``name-000012.tar`` / ``name-000012.parquet``."""
    return f"{name}-{number:06d}{SUFFIX[fmt]}"


def manifest_name(name: str) -> str:
    """The manifest's file name in a pack folder (or under a pack's URL prefix)."""
    return f"{name}.manifest.json"


def plan_name(name: str) -> str:
    """The plan's file name: a pack records its shard plan before writing shards, so a rerun can tell stale
    shards apart."""
    return f"{name}.plan.json"


def manifest_path(out_dir: Path, name: str) -> Path:
    return out_dir / manifest_name(name)


def plan_path(out_dir: Path, name: str) -> Path:
    return out_dir / plan_name(name)


class ShardEntry(msgspec.Struct, frozen=True):
    """One shard: records ``start..stop-1`` of the mix except ``skipped`` ones; ``bytes`` is 0 until written.

    ``digest`` identifies what the shard was built from (its records' exact bytes, its image files' paths, sizes,
    mtimes and inodes): a rerun keeps a shard file only when its planned digest is unchanged.
    """

    name: str
    start: int
    stop: int
    records: int
    images: int
    skipped: list[int] = []
    bytes: int = 0
    digest: str = ""

    def indices(self) -> Iterator[int]:
        skipped = set(self.skipped)
        return (i for i in range(self.start, self.stop) if i not in skipped)


class Manifest(msgspec.Struct):
    """The pack's table of contents; its presence means every listed shard is complete (the plan has the same
    shape, written before any shard)."""

    format: str
    name: str
    mix: str
    mix_bytes: int
    records: int  # records in the mix
    packed: int  # records in the shards
    shard_size: str
    shards: list[ShardEntry]
    skipped: list[Problem] = []  # the records left out, each with the error verify's rules give it
    version: int = MANIFEST_VERSION

    @property
    def images(self) -> int:
        return sum(s.images for s in self.shards)

    @property
    def bytes(self) -> int:
        return sum(s.bytes for s in self.shards)


def write_manifest(path: Path, manifest: Manifest) -> None:
    """Write a manifest (or a plan) atomically and durably."""
    write_marker(path, manifest)


def read_plan(path: Path) -> Manifest | None:
    """The plan an earlier run recorded, or None when there is none usable (the shards are then rebuilt)."""
    return read_marker(path, Manifest)


def read_manifest(path: Path) -> Manifest:
    """Read ``<name>.manifest.json``, or the one manifest in a pack folder when ``path`` is a folder."""
    path = Path(path)
    if path.is_dir():
        found = sorted(path.glob("*.manifest.json"))
        if len(found) != 1:
            raise ConfigError(f"{path}: expected one *.manifest.json, found {len(found)}; pass the manifest's path")
        path = found[0]
    try:
        manifest = load_marker(path, Manifest)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no manifest; the pack is incomplete, rerun `llavamix pack`") from None
    except (NotRegularFileError, msgspec.DecodeError) as exc:
        raise ConfigError(f"{path}: not a llavamix pack manifest ({exc})") from None
    if manifest.version != MANIFEST_VERSION:
        raise ConfigError(f"{path}: manifest version {manifest.version}; rerun `llavamix pack` to rewrite it")
    return manifest


def shard_paths(path: Path) -> list[Path]:
    """Every shard of a pack, in record order (``path``: the manifest or its folder)."""
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    return [folder / s.name for s in read_manifest(path).shards]


def iter_shard(path: Path) -> Iterator[ShardSample]:
    """The samples of one shard in order, from a ``.tar`` or ``.parquet`` file."""
    path = Path(path)
    reader = READERS.get(path.suffix)
    if reader is None:
        raise ConfigError(f"{path}: not a shard (expected {' or '.join(READERS)})")
    return reader(path)


def write_shard(fmt: str, samples: Iterable[Sample], path: Path) -> int:
    """Write ``samples`` as a shard of format ``fmt`` at ``path``, atomically; returns its size in bytes."""
    return WRITERS[fmt](samples, path)
