"""The disk works while an archive is laid out: ``FlushBehind`` syncs the root's filesystem behind the writer
(every few MiB written, one round at a time), so the sync before the completion marker has little left."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from llavamix.extract import ExtractOptions, extract_source
from llavamix.foundation import io as fio
from llavamix.foundation.formats import markers
from llavamix.foundation.io import FlushBehind
from llavamix.foundation.layout import Layout
from tests.extract.conftest import Recorder, blob, make_zip, source, tree

MiB = 1 << 20


@pytest.fixture
def syncs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Path]]:
    """Every sync_filesystem call: (the calling thread's name, the path)."""
    calls: list[tuple[str, Path]] = []
    real = fio.sync_filesystem

    def recording(path: Path) -> None:
        calls.append((threading.current_thread().name, Path(path)))
        real(path)

    monkeypatch.setattr(fio, "sync_filesystem", recording)
    monkeypatch.setattr(markers, "sync_filesystem", recording)  # the completion marker's own sync
    return calls


def wait_for_round(flush: FlushBehind, rounds: int = 1) -> None:
    deadline = time.monotonic() + 30  # however loaded the machine, the thread gets its turn
    while flush.rounds < rounds and time.monotonic() < deadline:
        time.sleep(0.01)


def test_a_round_follows_every_few_mib_and_none_without_writes(tmp_path: Path, syncs) -> None:
    with FlushBehind(tmp_path, every=MiB, pause=0.0) as idle:
        idle.wrote(MiB - 1)  # under the threshold: nothing to hand over yet
    assert idle.rounds == 0
    with FlushBehind(tmp_path, every=MiB, pause=0.0) as flush:
        for _ in range(8):
            (tmp_path / f"f{_}").write_bytes(b"x" * MiB)
            flush.wrote(MiB)
        wait_for_round(flush)
    assert 1 <= flush.rounds <= 8  # one round at a time: writes that land during a round share the next
    assert syncs and all(name == "llavamix-flush" and path == tmp_path for name, path in syncs)
    assert not any(t.name == "llavamix-flush" for t in threading.enumerate())  # closed: its thread is gone


def test_a_failing_sync_does_not_stop_the_writer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def failing(path: Path) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(fio, "sync_filesystem", failing)
    with FlushBehind(tmp_path, every=1, pause=0.0) as flush:
        flush.wrote(10)
        wait_for_round(flush)
        flush.wrote(10)  # the thread goes on after a failed round
        wait_for_round(flush, 2)
    assert flush.rounds >= 2


def test_the_root_is_synced_while_members_are_written_not_only_before_the_marker(
    layout: Layout, downloads: Path, syncs
) -> None:
    members = {f"img/{i:03d}.jpg": blob(str(i), 256 * 1024) for i in range(64)}  # 16 MiB
    archive = make_zip(downloads / "src.zip", members)
    progress = Recorder()
    extract_source(source(), archive, layout, ExtractOptions(progress=progress))
    assert tree(layout.root / "out") == members
    behind = [p for name, p in syncs if name == "llavamix-flush"]
    assert behind and all(p == layout.root for p in behind)  # rounds during the step, on the root's filesystem
    assert syncs[-1][0] != "llavamix-flush"  # and the marker's own sync last, on the extracting thread
    assert sum(n for kind, key, n in progress.events if kind == "advance") == 16 * MiB  # progress still passed on
