"""Shard files of a packed mix: names, sample keys, the manifest schema, the Parquet schema, and shard readers.

A pack folder holds ``<name>-000000.tar`` (WebDataset) or ``<name>-000000.parquet`` shards, each covering a
fixed range of mix records, and ``<name>.manifest.json``, written last, that lists them. In a tar shard every
record is a sample keyed by its zero-padded record index: ``<key>.json`` holds the record's exact JSON and
``<key>.<ext>`` its image bytes under the image's own extension (text-only records have no image member).
"""

from __future__ import annotations

import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Literal

import msgspec

from llavamix.errors import ConfigError
from llavamix.extras import require

if TYPE_CHECKING:
    import pyarrow as pa

Format = Literal["webdataset", "parquet"]
FORMATS: tuple[Format, ...] = ("webdataset", "parquet")
SUFFIX: dict[str, str] = {"webdataset": ".tar", "parquet": ".parquet"}
MANIFEST_VERSION = 1
KEY_DIGITS = 9  # sample keys sort in record order up to a billion records
FALLBACK_EXT = "img"  # for image paths without a usable extension


def shard_name(name: str, number: int, fmt: Format) -> str:
    """``name-000012.tar`` / ``name-000012.parquet``."""
    return f"{name}-{number:06d}{SUFFIX[fmt]}"


def sample_key(index: int) -> str:
    """The WebDataset key of mix record ``index``: digits only (WebDataset splits keys at the first dot)."""
    return f"{index:0{KEY_DIGITS}d}"


def image_ext(image: str) -> str:
    """The member extension of an image: its path's suffix, lower-cased (``jpg``, ``png``, ...)."""
    ext = PurePosixPath(image).suffix[1:].lower()
    # never collide with the record member or break WebDataset's key/extension split
    return ext if ext.isalnum() and ext != "json" else FALLBACK_EXT


def manifest_path(out_dir: Path, name: str) -> Path:
    return out_dir / f"{name}.manifest.json"


def plan_path(out_dir: Path, name: str) -> Path:
    """Where a pack records its shard plan before writing shards, so a rerun can tell stale shards apart."""
    return out_dir / f"{name}.plan.json"


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


class Problem(msgspec.Struct, frozen=True):
    """A record left out of a pack; ``code`` is a verify reason (``missing``: absent, unreadable or not a regular
    file; ``empty_file``; ``outside_root``: an absolute or climbing image path; ``image_null``) or ``malformed``."""

    index: int
    code: str
    id: int | str | None = None
    path: str | None = None
    detail: str = ""


class Manifest(msgspec.Struct):
    """The pack's table of contents; its presence means every listed shard is complete."""

    format: str
    name: str
    mix: str
    mix_bytes: int
    records: int  # records in the mix
    packed: int  # records in the shards
    shard_size: str
    shards: list[ShardEntry]
    skipped: list[Problem] = []
    version: int = MANIFEST_VERSION

    @property
    def images(self) -> int:
        return sum(s.images for s in self.shards)

    @property
    def bytes(self) -> int:
        return sum(s.bytes for s in self.shards)


def encode_manifest(manifest: Manifest) -> bytes:
    return msgspec.json.format(msgspec.json.encode(manifest), indent=1) + b"\n"


def read_manifest(path: Path) -> Manifest:
    """Read ``<name>.manifest.json``, or the one manifest in a pack folder when ``path`` is a folder."""
    path = Path(path)
    if path.is_dir():
        found = sorted(path.glob("*.manifest.json"))
        if len(found) != 1:
            raise ConfigError(f"{path}: expected one *.manifest.json, found {len(found)}; pass the manifest's path")
        path = found[0]
    try:
        manifest = msgspec.json.decode(path.read_bytes(), type=Manifest)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no manifest; the pack is incomplete, rerun `llavamix pack`") from None
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise ConfigError(f"{path}: not a llavamix pack manifest ({exc})") from None
    if manifest.version != MANIFEST_VERSION:
        raise ConfigError(f"{path}: manifest version {manifest.version}; rerun `llavamix pack` to rewrite it")
    return manifest


def shard_paths(path: Path) -> list[Path]:
    """Every shard of a pack, in record order (``path``: the manifest or its folder)."""
    path = Path(path)
    folder = path if path.is_dir() else path.parent
    return [folder / s.name for s in read_manifest(path).shards]


# --- Parquet layout: columns, and the Hugging Face features that make `image` load as an Image ---

PARQUET_COLUMNS = ("index", "id", "id_is_int", "image", "conversations", "data_source", "record")

_VALUE = {"_type": "Value"}
HF_FEATURES = {
    "index": {**_VALUE, "dtype": "int64"},
    "id": {**_VALUE, "dtype": "string"},
    "id_is_int": {**_VALUE, "dtype": "bool"},
    "image": {"_type": "Image"},
    # a one-element list is the sequence notation every datasets release reads
    "conversations": [{"from": {**_VALUE, "dtype": "string"}, "value": {**_VALUE, "dtype": "string"}}],
    "data_source": {**_VALUE, "dtype": "string"},
    "record": {**_VALUE, "dtype": "string"},
}


def parquet_schema() -> pa.Schema:
    """Columns: ``index`` (record position), ``id`` (as text; ``id_is_int`` keeps its JSON type), ``image``
    {bytes, path} (the datasets Image layout; null for text-only), ``conversations``, ``data_source`` (catalog
    source of the image), ``record`` (the record's exact JSON, so nothing is lost)."""
    pa = require("pyarrow")
    turn = pa.struct([pa.field("from", pa.string()), pa.field("value", pa.string())])
    features = msgspec.json.encode({"info": {"features": HF_FEATURES}})
    return pa.schema(
        [
            pa.field("index", pa.int64(), nullable=False),
            pa.field("id", pa.string()),
            pa.field("id_is_int", pa.bool_(), nullable=False),
            pa.field("image", pa.struct([pa.field("bytes", pa.binary()), pa.field("path", pa.string())])),
            pa.field("conversations", pa.list_(turn)),
            pa.field("data_source", pa.string()),
            pa.field("record", pa.string(), nullable=False),
        ],
        metadata={b"huggingface": features},
    )


# --- reading shards back (for loaders and tests) ---


@dataclass(frozen=True)
class ShardSample:
    """One packed record: its mix index, exact JSON bytes, and image bytes with their member extension."""

    index: int
    raw: bytes
    image: bytes | None = None
    image_ext: str | None = None


def iter_shard(path: Path) -> Iterator[ShardSample]:
    """The samples of one shard in order, from a ``.tar`` or ``.parquet`` file."""
    path = Path(path)
    if path.suffix == ".parquet":
        return _iter_parquet(path)
    if path.suffix == ".tar":
        return _iter_tar(path)
    raise ConfigError(f"{path}: not a shard (expected .tar or .parquet)")


def _iter_tar(path: Path) -> Iterator[ShardSample]:
    current: str | None = None
    parts: dict[str, bytes] = {}
    with tarfile.open(path, "r|") as tar:  # streaming: members are read once, in order
        for member in tar:
            if not member.isfile():
                continue
            key, _, ext = member.name.partition(".")
            if key != current and current is not None:
                yield _sample(path, current, parts)
                parts = {}
            current = key
            data = tar.extractfile(member)
            parts[ext] = data.read() if data is not None else b""
    if current is not None:
        yield _sample(path, current, parts)


def _sample(path: Path, key: str, parts: dict[str, bytes]) -> ShardSample:
    raw = parts.pop("json", None)
    if raw is None or not key.isdigit():
        raise ConfigError(f"{path}: sample {key!r} has no .json member; the shard was not written by llavamix pack")
    ext, data = next(iter(parts.items()), (None, None))
    return ShardSample(int(key), raw, data, ext)


def _iter_parquet(path: Path) -> Iterator[ShardSample]:
    pq = require("pyarrow.parquet")
    for batch in pq.ParquetFile(path).iter_batches(columns=["index", "image", "record"]):
        for row in batch.to_pylist():
            image = row["image"]
            ext = image_ext(image["path"]) if image else None
            yield ShardSample(row["index"], row["record"].encode(), image["bytes"] if image else None, ext)
