"""The summary page's stats: the stats stage's report and its HTML body (table and plots, drawn by the stats stage,
not here), computed once per server on first request and kept; with image sizes only when asked (it reads every
image's header)."""

from __future__ import annotations

import threading
from pathlib import Path

from llavamix import stats


class Summary:
    """The stats body of one mix, without and with the image sizes under ``root``, each computed at most once."""

    def __init__(self, mix: Path, root: Path) -> None:
        self.mix = mix
        self.root = root
        self._bodies: dict[bool, str] = {}
        self._lock = threading.Lock()  # two first requests compute it once

    def body(self, with_images: bool) -> str:
        """The stats HTML body; MissingExtra when matplotlib (the ``report`` extra) is absent."""
        with self._lock:
            if with_images not in self._bodies:
                report = stats.compute_stats(self.mix, self.root if with_images else None)
                self._bodies[with_images] = stats.render_body(report)
            return self._bodies[with_images]
