"""One writer per data root and per downloads folder: real ``llavamix`` processes side by side on a loopback server
whose download is held open, so the runs overlap whatever the machine's load."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from llavamix.foundation.lock import holder
from tests.httpserver import LoopbackServer
from tests.prepare.conftest import tree_digest
from tests.prepare.runs import Gate, Run, background, big_catalog, has_bytes, part_of, run_cli, wait_until

__all__ = ["background"]  # the fixture, used by name


def holds(run: Run, lock: Path) -> Callable[[], bool]:
    def check() -> bool:
        found = holder(lock)
        return found is not None and found.pid == run.pid

    return check


@pytest.mark.parametrize("shared", ["root", "downloads"])
def test_second_run_is_refused_naming_the_first_which_then_finishes_intact(
    tmp_path: Path, sample_server: LoopbackServer, background: Callable[..., Run], shared: str
) -> None:
    catalog = big_catalog(tmp_path, sample_server)
    reference = tmp_path / "reference"
    run_cli("prepare", "--catalog", catalog, "--root", reference, check=True)

    gate = Gate(sample_server)
    root, downloads = tmp_path / "data", tmp_path / "downloads"
    first = background("prepare", "--catalog", catalog, "--root", root, "--downloads", downloads)
    wait_until(holds(first, root / ".llavamix" / "lock"), first, "the first run took the lock")
    wait_until(lambda: has_bytes(part_of(downloads)), first, "the first run was downloading")

    if shared == "root":
        second = run_cli("prepare", "--catalog", catalog, "--root", root)
        named = f"data root {root}"
    else:  # another root, the same downloads folder, and the other command that writes
        other = tmp_path / "other"
        second = run_cli("fetch", "--catalog", catalog, "--root", other, "--downloads", downloads)
        named = f"downloads folder {downloads}"
        assert tree_digest(other) == {}, "the refused run wrote under its root"
    assert second.returncode == 1, second.stderr
    said = " ".join(second.stderr.split())
    assert f"{named} is in use by another llavamix run: pid {first.pid}" in said
    assert "prepare --catalog" in said and "wait for it to finish or stop it" in said
    assert "Traceback" not in second.stderr
    assert first.proc.poll() is None, "the first run was still downloading when the second was refused"

    gate.release()
    assert first.wait() == 0, first.stderr
    assert tree_digest(root) == tree_digest(reference)


def test_a_killed_holder_leaves_no_lock_behind(
    tmp_path: Path, sample_server: LoopbackServer, background: Callable[..., Run]
) -> None:
    catalog = big_catalog(tmp_path, sample_server)
    reference = tmp_path / "reference"
    run_cli("prepare", "--catalog", catalog, "--root", reference, check=True)

    gate = Gate(sample_server)
    root = tmp_path / "data"
    lock = root / ".llavamix" / "lock"
    first = background("prepare", "--catalog", catalog, "--root", root)
    wait_until(holds(first, lock), first, "the first run took the lock")
    wait_until(lambda: has_bytes(part_of(root / ".llavamix" / "downloads")), first, "the first run was downloading")
    os.kill(first.pid, signal.SIGKILL)
    first.wait()
    gate.release()

    stale = holder(lock)
    assert stale is not None and stale.pid == first.pid, "the lock file still names the killed run"
    rerun = run_cli("prepare", "--catalog", catalog, "--root", root)
    assert rerun.returncode == 0, rerun.stderr
    assert tree_digest(root) == tree_digest(reference)
    last = holder(lock)
    assert last is not None and last.pid != first.pid
