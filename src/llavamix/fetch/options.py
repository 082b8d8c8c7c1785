"""What a fetch run is told (``FetchOptions``) and what it returns (``Fetched`` per source, ``FetchReport``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from llavamix.foundation.tasks import NULL_PROGRESS, Progress

How = Literal["downloaded", "resumed", "present", "adopted"]

MiB = 1 << 20
GiB = 1 << 30


@dataclass(frozen=True)
class Pace:
    """The least a transfer must move: fewer than ``min_bytes`` in ``seconds`` is a stall, retried (a download
    resumes where it stopped). The socket timeout alone misses a server that trickles a few bytes at a time."""

    min_bytes: int = 64 * 1024
    seconds: float = 60.0  # the default asks for ~1 KiB/s over a minute: only a stuck server misses it


@dataclass(frozen=True)
class Split:
    """How a file is cut between connections: pieces of at most ``max_piece`` handed out in file order (so the
    digest of the contiguous start grows with the download), never a piece under ``min_segment`` (a file under
    twice that goes on one connection), a segment whose connection received nothing for ``takeover`` seconds is
    handed whole to an idle connection, and more connections join the first only while it brings less than
    ``enough``.

    Towards the end an idle connection splits the biggest segment left in two, if each half is at least
    ``min_segment`` and the half it takes is more than twice what a connection receives while a new request waits
    for its answer (measured during the download): on a far server a split that the new request would not pay for
    (its half would end after the whole) is not made. A split cuts the other connection's answer short (the bytes
    it has in flight are lost), so it is kept for what is worth it."""

    min_segment: int = 1 << 20
    max_piece: int = 64 << 20
    takeover: float = 10.0
    # bytes a second from the connections at work past which no more join: a server that fast (a local mirror)
    # gains nothing from more, which would only compete with the digest and the disk for the processor
    enough: float = 128 * MiB


@dataclass(frozen=True)
class CrawlOptions:
    """Knobs of a per-image crawl (OCR-VQA): many small GETs, in parallel, a few at a time per host."""

    all_keys: bool = False  # every key of the index, not only those the mix JSON references
    mirror: bool = True  # lay out the source's mirror zip (when its catalog entry has one) before crawling the rest
    jobs: int = 32  # images in flight; also the size of the connection pool
    host_connections: int = 16  # parallel connections per image host
    retries: int = 3  # extra attempts on connection errors, timeouts, 5xx and 429
    backoff: float = 0.5  # base delay in seconds, doubled per attempt, with jitter
    timeout: float = 30.0
    max_image_bytes: int = 64 * MiB  # a bigger answer is no book cover (an endless body, a device): dead
    pace: Pace = field(default_factory=Pace)


@dataclass(frozen=True)
class FetchOptions:
    """Knobs of a download run; the defaults suit the real servers."""

    jobs: int = 4  # sources downloaded in parallel
    retries: int = 5  # extra attempts on connection errors, timeouts, 5xx and 429 (reset after progress)
    backoff: float = 1.0  # base delay in seconds, doubled per attempt, with jitter
    max_backoff: float = 60.0
    timeout: float = 60.0  # socket connect and read timeout
    connections: int = 8  # connections one file is fetched over when its server serves ranges (1: one)
    host_connections: int = 8  # parallel connections per host unless the catalog's [hosts] says otherwise
    max_connections: int = 16  # parallel connections in all, over every file and host
    split: Split = field(default_factory=Split)
    pace: Pace = field(default_factory=Pace)  # slower than this is a stall: the download reconnects and resumes
    # a file whose size neither the catalog, the remote nor a Content-Length gives stops here, so an endless body
    # cannot fill the disk (the real sources without a catalog size are around 10 GB at most)
    max_unknown_size: int = 64 * GiB
    progress: Progress = NULL_PROGRESS
    crawl: CrawlOptions = field(default_factory=CrawlOptions)


@dataclass(frozen=True)
class Fetched:
    """One source's file, verified and at its final path."""

    source: str
    path: Path
    size: int
    how: How
    digest: str | None  # "md5:..." or "sha256:..." that was checked; None when there was nothing to check against
    crawl: CrawlReport | None = None  # for a crawled source (OCR-VQA): the images its index file lists


@dataclass
class CrawlReport:
    """One crawl of a source's image index: what landed, what was already there, and the dead URLs."""

    source: str
    keys: int  # keys wanted this run (the mix's, or every key with ``all_keys``)
    landed: int = 0  # images written this run
    present: int = 0  # images already there (crawled by an earlier run), not fetched again
    dead: dict[str, str] = field(default_factory=dict)  # key -> why (404, not an image...): not retried
    failed: dict[str, str] = field(default_factory=dict)  # key -> error after the retries: a rerun retries them
    unknown: int = 0  # keys the mix references that the index lacks
    dead_records: int | None = None  # mix records whose image is dead or unknown; None without a mix JSON
    report: Path | None = None  # the JSON file listing the dead and failed keys
    mixes: tuple[Path, ...] = ()  # the mix JSONs whose keys were wanted (none: every key of the index)
    mirror: bool = False  # a mirror zip was laid out first: the dead keys are dead in both
    mirrored: int = 0  # wanted keys whose image came from the mirror (not counted in ``present``)


@dataclass
class FetchReport:
    fetched: list[Fetched] = field(default_factory=list)
    failed: dict[str, BaseException] = field(default_factory=dict)  # source name -> what it raised (says what to do)

    @property
    def ok(self) -> bool:
        return not self.failed
