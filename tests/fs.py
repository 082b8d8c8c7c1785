"""Test helpers for hostile filesystems: real tiny disks, and a guard that turns a hang into a failure."""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

SmallDisk = Callable[..., Path]  # small_disk("4m", inodes=10_000) -> the mounted folder


@contextlib.contextmanager
def no_hang(seconds: int = 20) -> Iterator[None]:
    """Turn a blocking call (a FIFO's open) into a failure instead of a test run that never ends."""

    def fail(signum: int, frame: object) -> None:
        raise TimeoutError(f"blocked for {seconds} s")

    previous = signal.signal(signal.SIGALRM, fail)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def tiny_disks(base: Path) -> Iterator[SmallDisk]:
    """Mount real, tiny tmpfs filesystems under ``base``, unmounted afterwards; skips where mounting is not
    permitted. ``mount(size, inodes=None)``: ``size`` such as ``"64k"`` or ``"4m"``, ``inodes`` the inode count."""
    mounted: list[Path] = []

    def mount(size: str, inodes: int | None = None) -> Path:
        folder = base / f"disk{len(mounted)}"
        folder.mkdir()
        options = f"size={size},mode=0755" + (f",nr_inodes={inodes}" if inodes is not None else "")
        if shutil.which("mount") is None:
            pytest.skip("no mount command to make a small filesystem")
        done = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({done.stderr.decode(errors='replace').strip()})")
        mounted.append(folder)
        return folder

    try:
        yield mount
    finally:
        for folder in mounted:
            subprocess.run(["umount", "-l", str(folder)], check=False, timeout=60)
