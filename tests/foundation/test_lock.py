"""The one-writer lock: a second holder is refused with the first one named; a dead holder's lock is free at once,
even when a forked child of it lives on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from llavamix.foundation.errors import ConfigError, InUseError
from llavamix.foundation.lock import hold, holder

TIMEOUT = 60

HOLDER = """
import os, sys, time
from pathlib import Path
from llavamix.foundation.lock import hold
with hold(Path(sys.argv[1]), "test folder"):
    if sys.argv[2] == "fork":  # a forked child, like a process-pool worker, that outlives its parent
        ready_r, ready_w = os.pipe()
        child = os.fork()
        if child == 0:  # fork() returns here only after the at-fork hooks ran in this child
            os.write(ready_w, b"x")
            time.sleep(120)
            os._exit(0)
        os.read(ready_r, 1)  # so the parent is killed only once the child is past them
        print(child, flush=True)
    print("held", flush=True)
    time.sleep(120)
"""


@pytest.fixture
def procs() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait(TIMEOUT)


def spawn_holder(path: Path, mode: str, procs: list[subprocess.Popen[str]]) -> tuple[subprocess.Popen[str], list[str]]:
    """A real process holding ``path``; returns it once it says so, with the lines it printed before."""
    cmd = [sys.executable, "-c", textwrap.dedent(HOLDER), str(path), mode]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    procs.append(proc)
    assert proc.stdout is not None
    lines = []
    while (line := proc.stdout.readline().strip()) != "held":
        assert line, f"the holder exited with {proc.wait(TIMEOUT)} before taking the lock"
        lines.append(line)
    return proc, lines


def test_second_holder_in_this_process_is_refused_then_free_after_release(tmp_path: Path) -> None:
    path = tmp_path / ".llavamix" / "lock"
    with hold(path, "data root R"):
        me = holder(path)
        assert me is not None and me.pid == os.getpid()
        said = rf"data root R is in use .*pid {os.getpid()} .*wait for it"
        with pytest.raises(InUseError, match=said), hold(path, "data root R"):
            pass
    with hold(path, "data root R"):  # released when the block ended
        pass


def test_refusal_names_the_holder_process_and_how_to_stop_it(tmp_path: Path, procs: list) -> None:
    path = tmp_path / "lock"
    proc, _ = spawn_holder(path, "plain", procs)
    said = rf"(?s)pid {proc.pid} \(.*-c .*\), running since 20.*kill {proc.pid}"
    with pytest.raises(InUseError, match=said) as err, hold(path, "test folder"):
        pass
    assert "rerun" in str(err.value)


def test_lock_of_a_killed_holder_is_free_at_once(tmp_path: Path, procs: list) -> None:
    path = tmp_path / "lock"
    proc, _ = spawn_holder(path, "plain", procs)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(TIMEOUT)
    stale = holder(path)
    assert stale is not None and stale.pid == proc.pid, "the dead holder's name is still in the file"
    with hold(path, "test folder"):
        now = holder(path)
        assert now is not None and now.pid == os.getpid()


def test_a_forked_child_does_not_keep_a_dead_parents_lock(tmp_path: Path, procs: list) -> None:
    path = tmp_path / "lock"
    proc, lines = spawn_holder(path, "fork", procs)
    child = int(lines[0])
    try:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(TIMEOUT)
        os.kill(child, 0)  # the child is still alive...
        with hold(path, "test folder"):  # ...and the folder is free all the same
            pass
    finally:
        os.kill(child, signal.SIGKILL)


def test_a_lock_that_cannot_be_created_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "state").write_text("a file where the lock's folder should be")
    said = r"cannot create the lock file .*state/lock.*folder you can write to"
    with pytest.raises(ConfigError, match=said), hold(tmp_path / "state" / "lock", "data root R"):
        pass
