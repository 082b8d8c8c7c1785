"""The interface every URL scheme implements: open a remote file at a byte offset, and what can go wrong."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


class Transient(Exception):
    """A failure worth another attempt: connection dropped, timeout, 5xx, 429."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Refused(Exception):
    """The server refused for good (404, 403, other 4xx): retrying will not help, a manual download might."""


class RangeRejected(Exception):
    """The remote cannot continue the partial file (416 for another size, a Content-Range from another offset, a
    range answered with the whole file); the part must start over, or a spread download go on one connection."""


class Changed(Exception):
    """The remote file is no longer the version the partial download holds (another validator or size): every
    byte of the part must come again, so that no file mixes two versions."""


def _nothing() -> None:
    pass


@dataclass
class Body:
    """An open remote file: bytes from ``start`` (0 when a resume was refused), ``total`` bytes in all."""

    start: int
    total: int | None
    chunks: Iterable[bytes]
    validator: str | None = None  # ETag/Last-Modified that lets a later resume check the file did not change
    end: int | None = None  # where its bytes stop (a range's end, else the file's end); None when unknown
    ranged: bool = False  # the server says it serves byte ranges (a 206, or Accept-Ranges: bytes)
    hang_up: Callable[[], None] = _nothing  # cuts the transfer: a thread blocked reading it wakes at once


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


@runtime_checkable
class SpanRemote(Remote, Protocol):
    """A remote whose byte ranges can each be asked for on a connection of its own (``spans`` says whether this
    one may): what a segmented download needs."""

    spans: bool

    def open_span(self, first: int, end: int | None, validator: str | None) -> AbstractContextManager[Body]:
        """Bytes ``[first, end)`` (to the file's end when ``end`` is None), only if still ``validator``'s."""
        ...

    def fork(self) -> SpanRemote:
        """The same file over another connection."""
        ...

    def close(self) -> None:
        """Close the idle connections kept for reuse."""
        ...
