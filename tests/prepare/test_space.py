"""Disk space while downloads and extractions overlap: each check counts what the work running beside it will still
write (archives still downloading, extractions under way), a download waits for the archives that extractions
will delete rather than fill the disk, and one whose archive and extracted data cannot both fit is refused before
a byte is fetched. Real small filesystems (tmpfs) where mounting is permitted."""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from llavamix.catalog import Catalog, load_catalog
from llavamix.foundation.errors import DiskSpaceError
from llavamix.plan import RunPlan
from llavamix.prepare import PrepareOptions, plan_prepare, prepare
from tests.fs import SmallDisk
from tests.httpserver import Fault, LoopbackServer
from tests.prepare.archives import STEP, TRICKLE, Watch, archives_catalog, laid_out

MIB = 1 << 20
FALLBACK = 30.0  # seconds after which a held answer goes on anyway, so a run that never waits still ends


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as srv:
        yield srv


class Waits(logging.Handler):
    """Sets ``go`` once some claim waits for room (what the ledger logs when it does)."""

    def __init__(self, go: threading.Event) -> None:
        super().__init__(logging.INFO)
        self.go = go
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if "waiting for room" in record.getMessage():
            self.seen.append(record.getMessage())
            self.go.set()


@contextlib.contextmanager
def waits(go: threading.Event) -> Iterator[Waits]:
    """Watch the ledger's waits for the block; ``go`` is set FALLBACK seconds in at the latest, so that a run in
    which nothing waits still ends."""
    handler = Waits(go)
    ledger = logging.getLogger("llavamix.extract.claims")
    ledger.addHandler(handler)
    ledger.setLevel(logging.INFO)
    fallback = threading.Timer(FALLBACK, go.set)
    fallback.start()
    try:
        yield handler
    finally:
        fallback.cancel()
        ledger.removeHandler(handler)
        ledger.setLevel(logging.NOTSET)


def test_a_download_waits_for_room_another_archive_will_free(
    tmp_path: Path, server: LoopbackServer, small_disk: SmallDisk
) -> None:
    """The downloads folder holds one archive, not two: with two downloads allowed at once, the second waits
    until the first archive is laid out and deleted, instead of both starting and the disk filling up."""
    downloads = small_disk("1536k")
    catalog = load_catalog(archives_catalog(tmp_path, server, ["a", "b"]))
    held = Fault(hold_after=STEP, trickle=TRICKLE, trickle_chunk=STEP, repeat=True)
    for path in ("/a.zip", "/b.zip"):
        server.fault(path, held)  # whichever starts first cannot finish until the other has had to wait
    with waits(held.resume) as seen:
        report = prepare(catalog, [], tmp_path / "data", PrepareOptions(jobs=2, downloads=downloads, verify=False))
    assert [(s.name, s.status) for s in report.sources] == [("a", "done"), ("b", "done")], report.failures
    assert len(seen.seen) == 1 and "waiting for room: 1.0 MiB needed" in seen.seen[0], seen.seen
    assert not list(downloads.glob("*/*.zip*")), "the archives were deleted once laid out"


def roomy_plan(catalog: Catalog, tmp_path: Path) -> RunPlan:
    """The run's plan made where the disk is big: what a run sees when the disk filled up after its plan."""
    return plan_prepare(catalog, [], tmp_path / "roomy", PrepareOptions())


def test_an_archive_whose_extraction_cannot_fit_beside_it_is_not_downloaded(
    tmp_path: Path, server: LoopbackServer, small_disk: SmallDisk
) -> None:
    root = small_disk("1536k") / "data"
    catalog = load_catalog(archives_catalog(tmp_path, server, ["a"]))
    report = prepare(catalog, [], root, PrepareOptions(verify=False), plan=roomy_plan(catalog, tmp_path))
    said = " ".join(str(report.failures["a"]).split())
    assert "needs 1.0 MiB more, and extracting it about 1.0 MiB more there, but its filesystem has" in said, said
    assert "free some space, or pass --downloads with a folder on another disk" in said, said
    assert not server.gets("/a.zip"), "nothing was fetched"
    assert not laid_out(root, "a")


def test_two_extractions_that_each_fit_are_not_both_started_on_a_disk_for_one(
    tmp_path: Path, server: LoopbackServer, small_disk: SmallDisk
) -> None:
    """The data root holds one source's files, not two, and two extractions may run at once: the extraction that
    claims second waits for the first, is then refused, and the disk never fills up. (The first to start is held
    until the other has started or waits, so that without the ledger both would write at once.)"""
    root = small_disk("1536k") / "data"
    catalog = load_catalog(archives_catalog(tmp_path, server, ["a", "b"]))
    watch = Watch(root)
    go = threading.Event()
    watch.hold("a", lambda: go.is_set() or "extract b" in watch.started)
    watch.hold("b", lambda: go.is_set() or "extract a" in watch.started)
    options = PrepareOptions(jobs=2, extract_jobs=2, downloads=tmp_path / "downloads", verify=False, progress=watch)
    with waits(go) as seen:
        report = prepare(catalog, [], root, options, plan=roomy_plan(catalog, tmp_path))
    assert watch.most["extract"] == 1, "both extractions were under way at once"
    done = [s.name for s in report.sources if s.status == "done"]
    assert len(done) == 1, report.failures
    ((refused, failure),) = report.failures.items()
    assert isinstance(failure, DiskSpaceError)
    assert re.search(rf"extracting {refused}\.zip needs 1\.0 MiB under .*/data/{refused} .*free up", str(failure))
    assert len(seen.seen) == 1 and seen.seen[0].startswith(f"{refused}: waiting for room"), seen.seen
