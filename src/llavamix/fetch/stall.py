"""Stall detection: a transfer that moves fewer bytes than its ``Pace`` asks for in a whole window is a Transient
failure, so the caller reconnects (a download resumes) instead of waiting on a server that trickles for ever."""

from __future__ import annotations

import time

from llavamix.fetch.options import Pace
from llavamix.fetch.remote import Transient
from llavamix.foundation.io import human_bytes


class StallWatch:
    """Counts the bytes of one transfer, window by window; started when the transfer's first byte is awaited."""

    def __init__(self, pace: Pace) -> None:
        self.pace = pace
        self._since = time.monotonic()
        self._got = 0

    def feed(self, n: int) -> None:
        """Count ``n`` more bytes; raises Transient once a whole window has passed with too few."""
        self._got += n
        now = time.monotonic()
        if now - self._since < self.pace.seconds:
            return
        if self._got < self.pace.min_bytes:
            raise Transient(
                f"stalled: {human_bytes(self._got)} in {now - self._since:.1f}s, under the minimum of "
                f"{human_bytes(self.pace.min_bytes)} per {self.pace.seconds:g}s"
            )
        self._since, self._got = now, 0
