"""Fixtures for the fetch tests: a loopback server, a data root, fast retry options, sources built from bytes."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from llavamix.catalog import Source
from llavamix.fetch import FetchOptions
from llavamix.foundation.layout import Layout
from llavamix.foundation.tasks import Progress
from tests.httpserver import LoopbackServer

FAST = FetchOptions(backoff=0.01, max_backoff=0.05, timeout=5.0)


def payload(n: int, seed: int = 0) -> bytes:
    """``n`` deterministic, non-repeating-looking bytes."""
    out = bytearray()
    block = seed.to_bytes(8, "little")
    while len(out) < n:
        block = hashlib.sha256(block).digest()
        out += block
    return bytes(out[:n])


def source(
    name: str, url: str, data: bytes | None = None, *, checksum: str | None = "md5", size: bool = True
) -> Source:
    """A catalog source for ``url``; with ``data``, its size and ``checksum`` (md5/sha256/None) are filled in."""
    extra: dict[str, object] = {}
    if data is not None and size:
        extra["size"] = len(data)
    if data is not None and checksum:
        extra[checksum] = hashlib.new(checksum, data).hexdigest()
    return Source(name=name, url=url, into=name, **extra)


class RecordingProgress(Progress):
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, object]] = []

    def start(self, key: str, total: int | None, unit: str = "B", *, completed: int = 0) -> None:
        self.calls.append(("start", key, (total, completed)))

    def advance(self, key: str, n: int) -> None:
        self.calls.append(("advance", key, n))

    def detail(self, key: str, text: str) -> None:
        self.calls.append(("detail", key, text))

    def finish(self, key: str) -> None:
        self.calls.append(("finish", key, None))

    def advanced(self, key: str) -> int:
        return sum(int(n) for op, k, n in self.calls if op == "advance" and k == key)  # type: ignore[call-overload]


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as srv:
        yield srv


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    return Layout(tmp_path / "data")


def leftovers(layout: Layout) -> list[Path]:
    """Temporary files left in the downloads folder."""
    return [p for p in layout.downloads_dir.rglob("*") if ".part" in p.name]
