"""Where a mix, an index, a report, a clean JSON or a pack lives: a local path, or any fsspec URL (``s3://``,
``gs://``, ``https://``...). Credentials and endpoints come from each filesystem's standard environment
(``AWS_ACCESS_KEY_ID``, ``AWS_ENDPOINT_URL``, ``GOOGLE_APPLICATION_CREDENTIALS``...), plus storage options given
as ``--storage-option KEY=VALUE`` on the CLI or ``storage_options=`` in Python. A plain path never imports fsspec.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from llavamix.foundation.errors import ConfigError
from llavamix.foundation.extras import require

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

StorageOptions = Mapping[str, Any]
Target = str | Path  # a local path, or a URL


def is_url(target: Target) -> bool:
    """Whether ``target`` names object storage or another remote filesystem (``scheme://``; ``file://`` is local)."""
    text = str(target)
    scheme, sep, _ = text.partition("://")
    return bool(sep) and scheme.isidentifier() and scheme != "file"


def local_path(target: Target) -> Path:
    """``target`` as a local path (a ``file://`` URL loses its scheme)."""
    text = str(target)
    return Path(text.removeprefix("file://")) if text.startswith("file://") else Path(text)


def filesystem(target: Target, options: StorageOptions | None = None) -> tuple[AbstractFileSystem, str]:
    """The fsspec filesystem of ``target`` and the path on it; MissingExtra names the extra for the scheme."""
    fsspec = require("fsspec")
    scheme = str(target).partition("://")[0] if is_url(target) else "file"
    try:
        fs, path = fsspec.core.url_to_fs(str(target), **dict(options or {}))
    except ImportError as exc:  # fsspec knows the scheme; its package (s3fs, gcsfs) is missing
        require({"s3": "s3fs", "s3a": "s3fs", "gs": "gcsfs", "gcs": "gcsfs"}.get(scheme, scheme))
        raise ConfigError(f"{target}: {exc}") from None
    except ValueError as exc:
        raise ConfigError(f"{target}: {exc}; check the URL and the storage options") from None
    return fs, path


def open_target(target: Target, mode: str = "rb", options: StorageOptions | None = None) -> IO[Any]:
    """``target`` opened for reading or writing: a local file, or a file on its remote filesystem."""
    if not is_url(target):
        return open(local_path(target), mode)
    fs, path = filesystem(target, options)
    opened: IO[Any] = fs.open(path, mode)
    return opened


def parse_storage_options(pairs: Iterable[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs as fsspec storage options: a value that reads as JSON (``true``, ``8``, ``{...}``) is
    that value, any other is the text; a dotted key nests (``client_kwargs.endpoint_url=http://...``)."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"storage option {pair!r} is not KEY=VALUE (e.g. anon=true, or endpoint_url=http://...)")
        try:
            value: Any = json.loads(text)
        except ValueError:
            value = text
        *parents, last = key.split(".")
        node = out
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"storage option {key!r} nests under {part!r}, which is already a value")
        node[last] = value
    return out
