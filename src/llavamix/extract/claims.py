"""Space that work running at the same time has yet to write, per filesystem (``Claims``): a run that downloads
and extracts several sources at once checks each one against what is free *less* what the others will still
write there, so two that each fit alone are never both started on a disk that holds only one of them.

The composition layer (``prepare``) keeps one ledger per run: a download claims the bytes it has yet to receive
(with room for its extraction beside it), an extraction what its plan needs (the checks of ``space`` claim
through ``ExtractOptions.claims``); a claim shrinks as its bytes land (``wrote``, fed by the work's progress) and
ends with its work (``release``). An archive waiting to be extracted and then deleted (unless archives are kept)
is registered as space to come (``frees``).

A claim that does not fit waits, in the order the claims came, for the work holding the other claims on that
filesystem to end, then looks again; a download's claim also waits for the archives there that are to be
deleted, and lets extractions' claims go first. Once there is nothing left to wait for it goes on, and its
caller's check refuses it if it still does not fit. A wait always ends: waiting claims hold nothing, running work
waits on no claim, and an extraction never waits for a download's claim that has not started.
"""

from __future__ import annotations

import functools
import itertools
import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from llavamix.foundation.io import existing_parent, free_bytes, human_bytes
from llavamix.foundation.tasks import CANCEL

log = logging.getLogger(__name__)

Claim = Callable[[Path, int], int]  # (path, bytes to write there) -> bytes other work will still write there
RECHECK = 5.0  # seconds between looks at the free space while waiting (a user may free some meanwhile)


@dataclass
class _Claim:
    device: int
    size: int
    written: int = 0

    @property
    def owed(self) -> int:
        return max(0, self.size - self.written)


class Claims:
    """The ledger of one run; thread-safe. Keys name the work (a source: its download, then its extraction)."""

    def __init__(self) -> None:
        self._claims: dict[str, _Claim] = {}
        self._frees: dict[str, int] = {}  # key -> the device its archive's deletion frees space on
        self._queue: deque[_Ticket] = deque()  # the waiting claims, first come first
        self._changed = threading.Condition()

    def claim(self, key: str, path: Path, size: int, *, also: int = 0, download: bool = False) -> int:
        """Record that ``key`` will write ``size`` more bytes on ``path``'s filesystem (replacing its earlier
        claim); returns what other work will still write there. Waits first while ``size + also`` does not fit
        beside that and there is something to wait for (``also``: room that must be there too without being
        claimed, such as a download's extraction; ``download``: the claim of a download, which waits for
        archives to be deleted as well and lets other claims go first)."""
        ticket = _Ticket(key, _device(path), download)
        with CANCEL.on_cancel(self._wake), self._changed:
            self._queue.append(ticket)
            try:
                self._wait_for_room(ticket, path, size + also)
            finally:
                self._queue.remove(ticket)
                self._changed.notify_all()  # the next in line may go now
            self._claims[key] = _Claim(ticket.device, size)
            return self._owed(key, ticket.device)

    def bound(self, key: str) -> Claim:
        """``claim`` for ``key``, as the space checks take it."""
        return functools.partial(self.claim, key)

    def wrote(self, key: str, n: int) -> None:
        """``key`` wrote ``n`` of the bytes it claimed."""
        with self._changed:
            held = self._claims.get(key)
            if held is not None:
                held.written += n

    def frees(self, key: str, archive: Path) -> None:
        """``archive`` is deleted once ``key``'s extraction ends (``release``)."""
        with self._changed:
            self._frees[key] = _device(archive)

    def release(self, key: str) -> None:
        """``key``'s work ended: its claim, and the space it was to free, are settled; waiting claims look again."""
        with self._changed:
            self._claims.pop(key, None)
            self._frees.pop(key, None)
            self._changed.notify_all()

    def _wait_for_room(self, ticket: _Ticket, path: Path, size: int) -> None:
        said = False
        while not self._may_go(ticket, path, size):
            if not said:
                said = True
                log.info(
                    "%s: waiting for room: %s needed on the filesystem of %s, %s free, of which %s is still to be "
                    "written by work running there",
                    ticket.key,
                    human_bytes(size),
                    path,
                    human_bytes(free_bytes(path)),
                    human_bytes(self._owed(ticket.key, ticket.device)),
                )
            CANCEL.check()  # before each wait: a stop requested before it would wake nobody
            self._changed.wait(RECHECK)

    def _may_go(self, ticket: _Ticket, path: Path, size: int) -> bool:
        ahead = itertools.takewhile(lambda t: t is not ticket, self._queue)
        if any(ticket.yields_to(t, earlier=True) for t in ahead) or any(ticket.yields_to(t) for t in self._queue):
            return False
        if size <= free_bytes(path) - self._owed(ticket.key, ticket.device):
            return True
        holders = [k for k, c in self._claims.items() if c.device == ticket.device]
        if ticket.download:
            holders += [k for k, d in self._frees.items() if d == ticket.device]
        return not any(k != ticket.key for k in holders)

    def _owed(self, key: str, device: int) -> int:
        return sum(c.owed for k, c in self._claims.items() if k != key and c.device == device)

    def _wake(self) -> None:
        with self._changed:
            self._changed.notify_all()


@dataclass(frozen=True, eq=False)  # compared by identity: each waiting claim is its own
class _Ticket:
    key: str
    device: int
    download: bool

    def yields_to(self, other: _Ticket, earlier: bool = False) -> bool:
        """This waiting claim lets ``other`` (waiting too, ``earlier`` in line or not) go first: an earlier claim
        of its kind on this filesystem, or any extraction's claim there when this is a download's."""
        if other is self or other.device != self.device:
            return False
        if self.download and not other.download:
            return True
        return earlier and other.download == self.download


def _device(path: Path) -> int:
    return existing_parent(path).stat().st_dev
