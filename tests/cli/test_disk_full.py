"""A full disk is reported in one line: the path, the free space of its filesystem, what to do; no traceback.

The end-to-end cases mount a small tmpfs (root with mount rights, as in CI); they skip where that is not allowed.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from llavamix.cli import describe_os_error
from llavamix.foundation.layout import MIX_JSON
from tests.fs import SmallDisk
from tests.prepare.conftest import SAMPLE_DIR

SAMPLE_MIX = SAMPLE_DIR / "mix1m" / MIX_JSON.name  # 118 KB
TIMEOUT = 120


def full_write_error() -> OSError:
    """The OSError a write to a full disk raises (from a real write to /dev/full): ENOSPC, no file name."""
    try:
        with open("/dev/full", "wb") as full:
            full.write(b"x")
            full.flush()
    except OSError as exc:
        return exc
    raise AssertionError("a write to /dev/full succeeded")


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
def test_an_error_without_a_path_names_each_written_place_once_with_its_free_space(tmp_path: Path) -> None:
    exc = full_write_error()
    assert exc.errno == errno.ENOSPC and exc.filename is None
    root, downloads = tmp_path / "data", tmp_path / "downloads"  # one filesystem: named once
    message = describe_os_error(exc, [root, downloads], downloads=True)
    assert message.startswith(f"disk full: {root} has ")
    assert " free; free some space there or put the downloads on another disk with --downloads DIR" in message
    assert message.endswith("then rerun the same command: finished work is kept")
    assert str(downloads) not in message and "\n" not in message


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "llavamix", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT, env={**os.environ, "COLUMNS": "300"})


def one_error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def test_index_on_a_full_disk_names_the_place_and_its_free_space(small_disk: SmallDisk) -> None:
    disk = small_disk("64k")
    out = disk / "mix.idx"
    line = one_error_line(run_cli("index", SAMPLE_MIX, "--out", out))
    assert line.startswith(f"error: disk full: {out} has ")
    assert "KiB free; free some space there or write to another disk, then rerun the same command" in line
    assert list(disk.iterdir()) == [], "a partial index was left behind"


def test_report_on_a_disk_without_inodes_names_the_file(mix: Path, root: Path, small_disk: SmallDisk) -> None:
    disk = small_disk("1m", inodes=1)  # the mount's own folder takes the only inode: no file fits
    report = disk / "report.json"
    line = one_error_line(run_cli("verify", mix, "--root", root, "--report", report))
    assert line.startswith(f"error: disk full writing {report}: its filesystem has ")
    assert "free but no inodes left for new files; free some space there" in line
