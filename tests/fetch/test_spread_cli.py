"""Segmented downloads through ``llavamix fetch``: kill -9 at several points, then a rerun (every segment resumes
where its saved map says, the file is byte-identical, the server sent little more than the file in all); and the
options that set the connections."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from llavamix.cli import cli
from llavamix.fetch.options import FetchOptions, MiB
from tests.fetch.conftest import payload
from tests.httpserver import LoopbackServer

SIZE = 16 * MiB
RATE = 512 * 1024  # per connection: 4 MiB/s over the default 8, about four seconds for the whole file
TIMEOUT = 120
PATH = "/big.bin"


def catalog(tmp: Path, url: str, data: bytes) -> Path:
    out = tmp / "catalog.toml"
    out.write_text(
        f'[[source]]\nname = "big"\nurl = "{url}"\nsize = {len(data)}\n'
        f'sha256 = "{hashlib.sha256(data).hexdigest()}"\narchive = "none"\ninto = "big"\n'
    )
    return out


def fetch(cat: Path, root: Path, *options: str) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "llavamix", "fetch", "big", "--catalog", str(cat), "--root", str(root), *options]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def written(downloads: Path) -> int:
    """The bytes the saved segment map of ``big.bin`` counts (0 before there is one)."""
    try:
        raw = json.loads((downloads / "big.bin.part.segments").read_text())
    except (FileNotFoundError, ValueError):
        return 0
    return sum(done for _, _, done in raw["segments"])


def kill_at(proc: subprocess.Popen[bytes], server: LoopbackServer, at: int, downloads: Path, kept: int) -> int:
    """SIGKILL ``proc`` once the server has sent ``at`` bytes of the file in all, and the run's saved map counts
    every byte the run received (the server holds its answers meanwhile, so the run is caught up with it whatever
    the machine's load); returns the bytes the map counts."""
    asked = len(server.gets(PATH))
    deadline = time.monotonic() + TIMEOUT
    while server.bytes_served[PATH] < at:
        if proc.poll() is not None:
            raise AssertionError(f"the fetch ended ({proc.returncode}) before the kill")
        if time.monotonic() > deadline:
            raise AssertionError(f"{at} bytes were not served within {TIMEOUT}s")
        time.sleep(0.002)
    server.pause()
    try:
        while written(downloads) != kept + sum(seen.sent for seen in server.gets(PATH)[asked:]):
            if time.monotonic() > deadline:
                raise AssertionError("the saved map never counted every byte the run received")
            time.sleep(0.005)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(TIMEOUT)
    finally:
        server.go_on()
    return written(downloads)


@pytest.mark.parametrize("points", [(0.1, 0.45, 0.8), (0.02, 0.97)], ids=["three-kills", "early-and-late"])
def test_kill_9_at_several_points_then_rerun(tmp_path: Path, points: tuple[float, ...]) -> None:
    data = payload(SIZE, seed=3)
    root = tmp_path / "data"
    downloads = root / ".llavamix" / "downloads" / "big"
    with LoopbackServer() as server:
        server.rate = RATE
        cat = catalog(tmp_path, server.add(PATH, data), data)
        kept = 0
        for point in points:
            kept = kill_at(fetch(cat, root), server, int(point * SIZE), downloads, kept)
        assert 0 < kept < SIZE
        asked = len(server.gets(PATH))
        last = fetch(cat, root)
        _, err = last.communicate(timeout=TIMEOUT)
        assert last.returncode == 0, err.decode()
        assert (downloads / "big.bin").read_bytes() == data
        assert sorted(p.name for p in downloads.iterdir()) == ["big.bin"]
        assert server.sent_to(server.gets(PATH)[asked:]) == SIZE - kept  # every segment went on where it stopped
        # in all: what each killed run's held answers still wrote into their dead sockets besides
        assert server.sent_to(server.gets(PATH)) <= 1.1 * SIZE


@pytest.mark.parametrize(
    ("options", "most"), [((), 8), (("--connections", "1"), 1), (("--max-connections", "3"), 3)], ids=str
)
def test_the_options_set_how_many_connections(tmp_path: Path, options: tuple[str, ...], most: int) -> None:
    data = payload(SIZE // 2, seed=4)
    with LoopbackServer() as server:
        server.rate = 4 * MiB  # two seconds on one connection: the others join well before it ends
        server.gather(most, timeout=30)  # bodies wait for ``most`` answers in flight: the overlap is certain
        run = fetch(catalog(tmp_path, server.add(PATH, data), data), tmp_path / "data", *options)
        _, err = run.communicate(timeout=TIMEOUT)
        assert run.returncode == 0, err.decode()
    assert server.max_active_all == most


def test_the_options_defaults_are_the_librarys() -> None:
    params = {p.name: p.default for p in cli.commands["fetch"].params}
    assert (params["connections"], params["max_connections"]) == (
        FetchOptions().connections,
        FetchOptions().max_connections,
    )
