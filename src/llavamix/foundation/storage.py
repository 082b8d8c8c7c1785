"""Where a mix, an index, a report, a clean JSON or a pack lives: a local path, or any fsspec URL (``s3://``,
``gs://``, ``https://``...). Credentials and endpoints come from each filesystem's standard environment
(``AWS_ACCESS_KEY_ID``, ``AWS_ENDPOINT_URL``, ``GOOGLE_APPLICATION_CREDENTIALS``...), plus storage options given
as ``--storage-option KEY=VALUE`` on the CLI or ``storage_options=`` in Python. A plain path never imports fsspec.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Any, TypeVar

from llavamix.foundation.errors import ConfigError
from llavamix.foundation.extras import require

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

T = TypeVar("T")
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


def check_output(target: Target, options: StorageOptions | None = None, *, folder: bool = False) -> None:
    """Refuse, before any work, an output URL that cannot be written as asked: its bucket (or top folder) missing,
    a folder where a file is wanted, a file where a folder is wanted. A local path is checked by its writer."""
    if not is_url(target):
        return
    fs, path = filesystem(target, options)
    bucket = path.strip("/").split("/")[0]
    if not _call(target, lambda: fs.exists(bucket)):
        raise ConfigError(f"{target}: bucket {bucket!r} not found; create it or check the URL and the credentials")
    if folder and _call(target, lambda: fs.isfile(path)):
        raise ConfigError(f"{target} is an object, not a folder prefix; pass a prefix such as {target}/")
    if not folder and _call(target, lambda: fs.isdir(path)):
        raise ConfigError(f"{target} is a folder prefix; pass the URL of the file to write")


@contextlib.contextmanager
def local_input(target: Target, options: StorageOptions | None = None) -> Iterator[Path]:
    """A local file holding ``target``: a path is itself; a URL is downloaded through fsspec into a temporary
    folder, under its own name, and removed when the block ends (readers that seek need a local file)."""
    if not is_url(target):
        yield local_path(target)
        return
    fs, path = filesystem(target, options)
    if not _call(target, lambda: fs.isfile(path)):
        raise ConfigError(f"{target}: no such object; check the URL (a mix, an index: one file, not a prefix)")
    with tempfile.TemporaryDirectory(prefix="llavamix-") as tmp:
        local = Path(tmp) / PurePosixPath(path).name
        _call(target, lambda: fs.get_file(path, str(local)))
        yield local


@contextlib.contextmanager
def local_output(target: Target, options: StorageOptions | None = None) -> Iterator[Path]:
    """A local path to write ``target`` through: a path is itself (its writer makes it atomic); for a URL, a spool
    file in a temporary folder, uploaded whole once the block ends without error. The upload is one PUT or one
    multipart upload, so the object appears only complete; after an error nothing is uploaded."""
    if not is_url(target):
        yield local_path(target)
        return
    fs, path = filesystem(target, options)
    with tempfile.TemporaryDirectory(prefix="llavamix-") as tmp:
        spool = Path(tmp) / (PurePosixPath(path).name or "output")
        yield spool
        upload(spool, fs, path, target)


def upload(local: Path, fs: AbstractFileSystem, path: str, target: Target) -> None:
    """Put the complete local file ``local`` at ``path`` on ``fs`` (``target``: the URL, for messages)."""
    _call(target, lambda: fs.put_file(str(local), path))


def _call(target: Target, action: Callable[[], T]) -> T:
    """``action()`` on the filesystem of ``target``; what the store refuses (no credentials, access denied, an
    unreachable endpoint) becomes a ConfigError naming the URL and what to check."""
    try:
        return action()
    except (PermissionError, FileNotFoundError, ConnectionError) as exc:
        raise ConfigError(
            f"{target}: {type(exc).__name__}: {exc}; check the URL, the credentials (AWS_*, "
            "GOOGLE_APPLICATION_CREDENTIALS) and the endpoint (AWS_ENDPOINT_URL, --storage-option)"
        ) from None
