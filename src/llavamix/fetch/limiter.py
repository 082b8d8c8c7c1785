"""Caps on parallel connections per host (some servers refuse more than one or two)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping


class HostLimiter:
    """A semaphore per host name: ``caps`` for the hosts it names, ``default`` for every other host."""

    def __init__(self, caps: Mapping[str, int] | None = None, default: int = 4) -> None:
        self._caps = dict(caps or {})
        self._default = default
        self._sems: dict[str, threading.BoundedSemaphore] = {}
        self._lock = threading.Lock()

    def cap(self, host: str) -> int:
        return max(1, self._caps.get(host, self._default))

    def _sem(self, host: str) -> threading.BoundedSemaphore:
        with self._lock:
            if host not in self._sems:
                self._sems[host] = threading.BoundedSemaphore(self.cap(host))
            return self._sems[host]

    @contextlib.contextmanager
    def slot(self, host: str) -> Iterator[None]:
        """Hold one of ``host``'s connections for the duration of the block (no cap for local files)."""
        if not host:
            yield
            return
        sem = self._sem(host)
        with sem:
            yield
