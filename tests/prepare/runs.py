"""Helpers for tests that run ``llavamix`` processes side by side: background runs with their output kept, and a
gate that holds one download open on the loopback server until the test releases it."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.httpserver import Fault, LoopbackServer
from tests.prepare.conftest import http_catalog

TIMEOUT = 120  # seconds any one llavamix process may take in these tests
BIG = "/big/big.bin"  # a plain-file source added to the sample catalog, large enough to be held open
BIG_SIZE = 16 << 20
STEP = 64 << 10  # bytes the gate lets through per second: more than the download's minimum pace asks for


@dataclass
class Run:
    """A ``llavamix`` process started in the background; its stdout and stderr go to files."""

    proc: subprocess.Popen[bytes]
    out: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait(self, timeout: float = TIMEOUT) -> int:
        return self.proc.wait(timeout)

    @property
    def stderr(self) -> str:
        return (self.out / "stderr").read_text()


@pytest.fixture
def background(tmp_path: Path) -> Iterator[Callable[..., Run]]:
    """``background(*args)`` starts ``python -m llavamix *args``; any still running at the end is killed."""
    runs: list[Run] = []

    def start(*args: str | Path) -> Run:
        out = tmp_path / f"run{len(runs)}"
        out.mkdir()
        cmd = [sys.executable, "-m", "llavamix", *map(str, args)]
        with open(out / "stdout", "wb") as stdout, open(out / "stderr", "wb") as stderr:
            proc = subprocess.Popen(cmd, stdout=stdout, stderr=stderr, env={**os.environ, "COLUMNS": "200"})
        runs.append(Run(proc, out))
        return runs[-1]

    yield start
    for run in runs:
        if run.proc.poll() is None:
            run.proc.kill()
            run.proc.wait(TIMEOUT)


def run_cli(*args: str | Path, check: bool = False) -> subprocess.CompletedProcess[str]:
    """``python -m llavamix *args`` to its end, within TIMEOUT seconds."""
    cmd = [sys.executable, "-m", "llavamix", *map(str, args)]
    env = {**os.environ, "COLUMNS": "200"}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=TIMEOUT)
    if check and proc.returncode != 0:
        raise AssertionError(f"{cmd} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def big_catalog(tmp: Path, server: LoopbackServer) -> Path:
    """The sample catalog over ``server``, plus source ``big``: BIG_SIZE bytes that land as ``ROOT/big/big.bin``."""
    data = b"".join(hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(BIG_SIZE // 32))
    server.add(BIG, data)
    big = (
        f'\n[[source]]\nname = "big"\nurl = "{server.url(BIG)}"\nsize = {len(data)}\n'
        f'sha256 = "{hashlib.sha256(data).hexdigest()}"\narchive = "none"\ninto = "big"\n'
    )
    out = tmp / "big-catalog.toml"
    out.write_text(http_catalog(tmp, server).read_text() + big)
    return out


def wait_until(condition: Callable[[], bool], run: Run, what: str, timeout: float = TIMEOUT) -> None:
    """Poll until ``condition()`` holds; fail if ``run`` ended first or the time ran out."""
    deadline = time.monotonic() + timeout
    while not condition():
        if run.proc.poll() is not None:
            raise AssertionError(f"the run ended ({run.proc.returncode}) before {what}:\n{run.stderr}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout}s")
        time.sleep(0.02)


class Gate:
    """Serves ``path`` (BIG) at STEP bytes a second, so that it would take minutes, until ``release``: a download
    that cannot finish while the test looks, whatever the machine's load."""

    def __init__(self, server: LoopbackServer, path: str = BIG) -> None:
        self.server, self.path = server, path
        self.fault = Fault(trickle=1.0, trickle_chunk=STEP, repeat=True)
        server.fault(path, self.fault)

    def release(self) -> None:
        self.fault.trickle = 0.0  # the transfer in flight reads it chunk by chunk: it ends at full speed
        self.server.faults.pop(self.path, None)


def part_of(downloads: Path) -> Path:
    """The partial download of source ``big``."""
    return downloads / "big" / "big.bin.part"


def has_bytes(path: Path) -> bool:
    return path.exists() and path.stat().st_size > 0
