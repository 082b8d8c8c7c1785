"""What extraction takes (``ExtractOptions``) and what it reports (``Extracted``, also the completion marker)."""

from __future__ import annotations

from dataclasses import dataclass, field

from llavamix.extract.claims import Claim, Claims
from llavamix.foundation.tasks import NULL_PROGRESS, Progress


@dataclass(frozen=True)
class ExtractOptions:
    """``jobs`` > 1 writes members from a pool of threads; progress is keyed by source name, in bytes;
    ``claims``: the run's ledger of space that work running beside this extraction will still write."""

    keep_archive: bool = False  # delete the archive after a verified extraction unless True
    check_space: bool = True
    jobs: int = 1
    progress: Progress = NULL_PROGRESS
    claims: Claims | None = None

    def claim(self, key: str) -> Claim | None:
        """How the space checks of ``key``'s extraction claim their need (None: no ledger, nothing beside it)."""
        return None if self.claims is None else self.claims.bound(key)


@dataclass(frozen=True)
class Extracted:
    """A finished extraction: file count, uncompressed bytes, and where the files landed.

    ``roots`` are paths relative to the data root (posix): the folders that received the source's files, e.g.
    ``["coco/train2017"]``; for a source that is one plain file, the file itself.
    """

    source: str
    files: int
    bytes: int
    roots: list[str] = field(default_factory=list)
