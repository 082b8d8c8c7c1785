"""What ``llavamix pack`` writes: format, shard size (bytes or records), error policy, parallelism."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from llavamix.foundation.errors import ConfigError
from llavamix.foundation.formats.pack import FORMATS, Format
from llavamix.foundation.storage import StorageOptions
from llavamix.foundation.tasks import NULL_PROGRESS, Engine, Progress, run_tasks

_UNITS = {
    "": 1, "b": 1,
    "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
    "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40,
}  # fmt: skip
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class ShardSize:
    """A shard holds at most ``limit`` bytes (estimated from record and image sizes) or ``limit`` records."""

    limit: int
    unit: Literal["bytes", "records"]

    @classmethod
    def parse(cls, text: str) -> ShardSize:
        """``"1GB"``, ``"500MB"``, ``"2GiB"`` are byte sizes; a bare integer like ``"10000"`` is a record count."""
        match = _SIZE.match(text)
        unit = match.group(2).lower() if match else ""
        if not match or unit not in _UNITS or (not unit and "." in match.group(1)):
            raise ConfigError(
                f"shard size {text!r} not understood; use a byte size like 1GB or 500MB, or a record count like 10000"
            )
        value = float(match.group(1)) * _UNITS[unit]
        if value < 1:
            raise ConfigError(f"shard size {text!r} must be positive")
        return cls(int(value), "records" if not unit else "bytes")

    def __str__(self) -> str:
        return f"{self.limit}" if self.unit == "records" else f"{self.limit}B"


@dataclass(frozen=True)
class PackOptions:
    """``name``: shard name prefix (default: the mix file's stem); ``on_error``: ``fail`` stops before writing
    when a record cannot be packed (one that verify's quick checks give an error: its rules, e.g. ``bad_role`` or
    ``not_alternating``, or its image missing, empty, not a regular file or outside the root), ``skip`` leaves
    such records out and lists them, with verify's code, in the manifest; ``storage_options``: fsspec options for a
    mix or an output given by URL."""

    format: Format = "webdataset"
    shard_size: ShardSize = field(default_factory=lambda: ShardSize.parse("1GB"))
    name: str | None = None
    jobs: int = 1
    on_error: Literal["fail", "skip"] = "fail"
    progress: Progress = field(default=NULL_PROGRESS, compare=False)
    storage_options: StorageOptions = field(default_factory=dict)  # fsspec options for a mix or pack URL
    engine: Engine = field(default=run_tasks, compare=False)  # runs the shard writes (local threads, or Ray)

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ConfigError(f"pack format {self.format!r} unknown; use one of {', '.join(FORMATS)}")
        if self.on_error not in ("fail", "skip"):
            raise ConfigError(f"on_error {self.on_error!r} unknown; use fail or skip")
        if self.jobs < 1:
            raise ConfigError("pack jobs must be at least 1")
        if self.name is not None and (not self.name or "/" in self.name or "\\" in self.name):
            raise ConfigError(f"shard name {self.name!r} must be a plain file name prefix")
