"""file:// sources (a local mirror): copied through the same part, verify and rename path as downloads."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

from llavamix.catalog import Source
from llavamix.fetch.options import FetchOptions
from llavamix.fetch.remote import Body, Expected, Refused
from llavamix.foundation.io import CHUNK


class FileRemote:
    """A local file; its size and mtime play the part of an HTTP validator."""

    host = ""

    def __init__(self, url: str) -> None:
        self.url = url
        self.path = Path(url2pathname(unquote(urlparse(url).path)))
        self.expected = Expected()

    @contextlib.contextmanager
    def open(self, offset: int, validator: str | None) -> Iterator[Body]:
        try:
            stat = self.path.stat()
            fh = open(self.path, "rb")  # noqa: SIM115 (closed by the with below)
        except OSError as exc:
            raise Refused(f"cannot read {self.path}: {exc.strerror}") from None
        now = f"{stat.st_size}:{stat.st_mtime_ns}"
        start = offset if offset <= stat.st_size and validator in (None, now) else 0
        with fh:
            fh.seek(start)
            yield Body(start, stat.st_size, iter(lambda: fh.read(CHUNK), b""), now)


def remote(source: Source, options: FetchOptions) -> FileRemote:
    return FileRemote(source.url)
