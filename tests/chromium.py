"""Headless Chromium (Debian's package) for the tests that render pages: one set of flags that keeps it off the
network and out of any profile but the test's own."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

FOUND = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM = Path(FOUND) if FOUND else None
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium is not installed (apt-get install chromium)"
)


def chromium(profile: Path, *args: str) -> str:
    """Run Chromium with a fresh profile folder and ``args``; what it printed (``--dump-dom``: the page's DOM)."""
    assert CHROMIUM is not None
    done = subprocess.run(
        [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout
