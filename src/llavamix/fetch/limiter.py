"""Caps on parallel connections: per host (some servers refuse more than one or two) and, for the connections
that ask for it, in all (``--max-connections``), held across every file downloading at once."""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from collections.abc import Callable, Iterator, Mapping

WAKE_EVERY = 1.0  # seconds between re-checks of a waiter's ``until``, should nobody wake it


class Slot:
    """One held connection; ``release`` gives it back (once: a second call does nothing)."""

    def __init__(self, limiter: HostLimiter, host: str, counted: bool) -> None:
        self._limiter, self.host, self._counted = limiter, host, counted
        self._held = True

    def release(self) -> None:
        if self._held:
            self._held = False
            self._limiter._give_back(self.host, self._counted)


class HostLimiter:
    """Connections per host name: ``caps`` for the hosts it names, ``default`` for every other host; and at most
    ``total`` (given per request) over all hosts for the requests that give one."""

    def __init__(self, caps: Mapping[str, int] | None = None, default: int = 8) -> None:
        self._caps = dict(caps or {})
        self._default = default
        self._busy: Counter[str] = Counter()
        self._counted = 0  # held slots that count against a total
        self._cond = threading.Condition()

    def cap(self, host: str) -> int:
        return max(1, self._caps.get(host, self._default))

    def acquire(self, host: str, *, total: int | None = None, until: Callable[[], bool] | None = None) -> Slot | None:
        """Wait for one of ``host``'s connections (and one of ``total``, if given); None once ``until()`` holds
        first (checked whenever a slot is given back, ``wake`` is called, or every WAKE_EVERY seconds)."""
        with self._cond:
            while not self._free(host, total):
                if until is not None and until():
                    return None
                self._cond.wait(WAKE_EVERY)
            self._busy[host] += 1
            self._counted += total is not None
            return Slot(self, host, total is not None)

    @contextlib.contextmanager
    def slot(
        self, host: str, *, total: int | None = None, until: Callable[[], bool] | None = None
    ) -> Iterator[Slot | None]:
        """Hold a connection for the block (no cap for local files, whose host is ""); the block may give it back
        early through the yielded Slot. It gets None, holding nothing, if ``until()`` came true while it waited."""
        if not host:
            yield None
            return
        held = self.acquire(host, total=total, until=until)
        try:
            yield held
        finally:
            if held is not None:
                held.release()

    def wake(self) -> None:
        """Make every waiter check its ``until`` now (its download finished or is stopping)."""
        with self._cond:
            self._cond.notify_all()

    def _free(self, host: str, total: int | None) -> bool:
        return self._busy[host] < self.cap(host) and (total is None or self._counted < max(1, total))

    def _give_back(self, host: str, counted: bool) -> None:
        with self._cond:
            self._busy[host] -= 1
            self._counted -= counted
            self._cond.notify_all()
