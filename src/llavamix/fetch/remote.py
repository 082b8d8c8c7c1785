"""The interface every URL scheme implements: open a remote file at a byte offset, and what can go wrong."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol


class Transient(Exception):
    """A failure worth another attempt: connection dropped, timeout, 5xx, 429."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Refused(Exception):
    """The server refused for good (404, 403, other 4xx): retrying will not help, a manual download might."""


class RangeRejected(Exception):
    """The remote cannot continue the partial file (416 for another size); the part must start over."""


@dataclass
class Body:
    """An open remote file: bytes from ``start`` (0 when a resume was refused), ``total`` bytes in all."""

    start: int
    total: int | None
    chunks: Iterable[bytes]
    validator: str | None = None  # ETag/Last-Modified that lets a later resume check the file did not change


@dataclass(frozen=True)
class Expected:
    """What the finished file must be; None where nothing is known."""

    size: int | None = None
    checksum: tuple[str, str] | None = None  # (algo, hexdigest)


class Remote(Protocol):
    """A file behind a URL that can be read from a byte offset."""

    url: str
    host: str  # for the per-host connection cap; "" for local files
    expected: Expected  # what the remote itself says the file is (Hub LFS sha256, file size...)

    def open(self, offset: int, validator: str | None) -> AbstractContextManager[Body]:
        """Bytes from ``offset``; ``validator`` is the one a previous body had (resume only if unchanged)."""
        ...
