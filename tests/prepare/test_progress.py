"""What ``prepare`` and ``fetch`` tell the progress bars: one bar per download and one per extraction, each named
after its phase, and a total over every download of the run, which counts what a resumed download already had."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from llavamix.catalog import load_catalog
from llavamix.fetch import FetchOptions
from llavamix.foundation.layout import Layout
from llavamix.foundation.tasks import Progress
from llavamix.prepare import TOTAL, PrepareOptions, fetch_missing, prepare
from tests.httpserver import Fault, LoopbackServer
from tests.prepare.archives import archives_catalog

SIZE = 1 << 20


class Bars(Progress):
    """Every bar started (with its total, unit and starting point) and the units each bar advanced by."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.started: dict[str, tuple[int | None, str, int]] = {}
        self.advanced: Counter[str] = Counter()
        self.finished: set[str] = set()

    def start(self, key: str, total: int | None, unit: str = "B", *, completed: int = 0) -> None:
        with self.lock:
            self.started[key] = (total, unit, completed)

    def advance(self, key: str, n: int) -> None:
        with self.lock:
            self.advanced[key] += n

    def finish(self, key: str) -> None:
        with self.lock:
            self.finished.add(key)


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as srv:
        yield srv


def test_a_bar_per_phase_of_each_source_and_a_total_over_the_downloads(tmp_path: Path, server: LoopbackServer) -> None:
    catalog = load_catalog(archives_catalog(tmp_path, server, ["a", "b"], SIZE))
    sizes = {s.name: s.size or 0 for s in catalog.sources}
    root = tmp_path / "data"
    # ``a`` was half downloaded by an earlier run, stopped
    server.fault("/a.zip", Fault(drop_after=SIZE // 2))
    fetch_missing(catalog, ["a"], Layout(root), FetchOptions(retries=0, connections=1))
    kept = (root / ".llavamix" / "downloads" / "a" / "a.zip.part").stat().st_size
    assert 0 < kept < sizes["a"]

    bars = Bars()
    prepare(catalog, [], root, PrepareOptions(verify=False, progress=bars))
    assert bars.started[TOTAL][:2] == (sum(sizes.values()), "B")
    assert bars.advanced[TOTAL] + kept == sum(sizes.values()), "the total counts every byte of every download once"
    for name in ("a", "b"):
        assert bars.started[f"download {name}"][:2] == (sizes[name], "B")
        assert bars.started[f"extract {name}"][:2] == (4 * (SIZE // 4), "B")
        assert bars.advanced[f"extract {name}"] == 4 * (SIZE // 4)
    assert bars.started["download a"][2] == kept, "the resumed download's bar starts where it stopped"
    assert set(bars.started) <= bars.finished, "every bar ends"
