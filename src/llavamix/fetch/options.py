"""What a fetch run is told (``FetchOptions``) and what it returns (``Fetched`` per source, ``FetchReport``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from llavamix.tasks import NULL_PROGRESS, Progress

How = Literal["downloaded", "resumed", "present", "adopted"]


@dataclass(frozen=True)
class FetchOptions:
    """Knobs of a download run; the defaults suit the real servers."""

    jobs: int = 4  # sources downloaded in parallel
    retries: int = 5  # extra attempts on connection errors, timeouts, 5xx and 429 (reset after progress)
    backoff: float = 1.0  # base delay in seconds, doubled per attempt, with jitter
    max_backoff: float = 60.0
    timeout: float = 60.0  # socket connect and read timeout
    host_connections: int = 4  # parallel connections per host unless the catalog's [hosts] says otherwise
    progress: Progress = NULL_PROGRESS


@dataclass(frozen=True)
class Fetched:
    """One source's file, verified and at its final path."""

    source: str
    path: Path
    size: int
    how: How
    digest: str | None  # "md5:..." or "sha256:..." that was checked; None when there was nothing to check against


@dataclass
class FetchReport:
    fetched: list[Fetched] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # source name -> what went wrong and what to do

    @property
    def ok(self) -> bool:
        return not self.failed
