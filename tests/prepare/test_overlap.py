"""``prepare`` overlaps downloads and extractions: a source is laid out as soon as its archive is complete while
other downloads go on, an archive already downloaded never waits for a download's turn, an extraction never holds
up the next download, and each phase has its own limit (``--jobs`` downloads, ``--extract-jobs`` extractions).

Every overlap is forced from the outside (a held answer of the loopback server, a progress bar that does not
start until the test has seen what it waits for), so no test depends on how fast anything runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from llavamix.catalog import load_catalog
from llavamix.prepare import PrepareOptions, prepare
from tests.httpserver import LoopbackServer
from tests.prepare.archives import WITHIN, Watch, archives_catalog, ended, hold, laid_out, throttle
from tests.prepare.runs import Run, background, run_cli, wait_until

__all__ = ["background"]  # the fixture, used by name


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as srv:
        yield srv


def test_the_first_archive_is_laid_out_while_the_last_one_downloads(
    tmp_path: Path, server: LoopbackServer, background: Callable[..., Run]
) -> None:
    catalog = archives_catalog(tmp_path, server, ["a", "b", "c"])
    throttle(server, "a", "b")
    held = hold(server, "c")  # the last download cannot end before the test lets it
    root = tmp_path / "data"
    run = background("prepare", "--catalog", catalog, "--root", root, "--jobs", "3")
    try:
        wait_until(lambda: laid_out(root, "a"), run, "the first archive was laid out", WITHIN)
        assert not ended(server, "c"), "the last download had ended"
        assert not (root / "c").exists()
    finally:
        held.resume.set()
    assert run.wait() == 0, run.stderr
    assert all(laid_out(root, name) for name in "abc")
    assert sorted(p.name for p in (root / "c" / "c").iterdir()) == ["0.jpg", "1.jpg", "2.jpg", "3.jpg"]


def test_a_downloaded_archive_does_not_wait_for_a_download_turn(
    tmp_path: Path, server: LoopbackServer, background: Callable[..., Run]
) -> None:
    """``slow`` holds the only download turn (``--jobs 1``) and cannot end until ``ready``, whose archive a
    ``fetch`` already brought, is laid out: with turns shared by both phases this run would never end."""
    catalog = archives_catalog(tmp_path, server, ["slow", "ready"])
    root = tmp_path / "data"
    run_cli("fetch", "ready", "--catalog", catalog, "--root", root, check=True)
    held = hold(server, "slow")
    run = background("prepare", "--catalog", catalog, "--root", root, "--jobs", "1")
    try:
        wait_until(lambda: laid_out(root, "ready"), run, "the downloaded archive was laid out", WITHIN)
        assert not ended(server, "slow")
    finally:
        held.resume.set()
    assert run.wait() == 0, run.stderr
    out = " ".join(run.out.joinpath("stdout").read_text().split())
    assert "ready │ done │ 1.0 MiB present" in out, out
    assert re.search(r"wall time [\d.]+s .* [\d.]+s downloading and [\d.]+s extracting", out), out


def test_an_extraction_does_not_hold_up_the_next_download(tmp_path: Path, server: LoopbackServer) -> None:
    """One download at a time: ``b``'s starts while ``a`` is being extracted (``a``'s extraction waits for it)."""
    catalog = load_catalog(archives_catalog(tmp_path, server, ["a", "b"]))
    root = tmp_path / "data"
    watch = Watch(root)
    watch.hold("a", lambda: bool(server.gets("/b.zip")))
    report = prepare(catalog, [], root, PrepareOptions(jobs=1, extract_jobs=1, verify=False, progress=watch))
    assert watch.waited == {"a": True}, "no download started while an archive was being extracted"
    assert [(s.name, s.status) for s in report.sources] == [("a", "done"), ("b", "done")]


def test_each_phase_has_its_own_limit(tmp_path: Path, server: LoopbackServer) -> None:
    """``extract_jobs=2``: two extractions run side by side (``a``'s waits until ``b``'s has started, ``b``'s
    download being held until ``a``'s extraction waits), never more; ``jobs=2``: never more than two downloads."""
    catalog = load_catalog(archives_catalog(tmp_path, server, ["a", "b", "c", "d"]))
    throttle(server, "a", "c", "d")
    held = hold(server, "b")  # so that ``a`` is extracted first
    root = tmp_path / "data"
    watch = Watch(root)
    watch.hold("a", lambda: "extract b" in watch.started, then=held.resume.set)
    report = prepare(catalog, [], root, PrepareOptions(jobs=2, extract_jobs=2, verify=False, progress=watch))
    assert watch.waited == {"a": True}
    assert watch.most["extract"] == 2
    assert watch.most["download"] <= 2
    assert all(s.status == "done" for s in report.sources)
    assert all(s.seconds.keys() == {"download", "extract"} for s in report.sources)
    assert report.seconds > 0 and report.phase_seconds("download") > 0
