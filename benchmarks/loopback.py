"""The loopback HTTP server of the benchmarks, in a process of its own (it must not share the client's GIL)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SERVER = REPO / "tests" / "httpserver.py"


def start_server(*args: str, script: Path = SERVER) -> tuple[subprocess.Popen[str], str]:
    """Run ``script`` with ``args``; it prints its base URL first. Returns the process and that URL."""
    proc = subprocess.Popen([sys.executable, str(script), *args], stdout=subprocess.PIPE, text=True)
    base = proc.stdout.readline().strip() if proc.stdout else ""
    if not base.startswith("http://"):
        proc.kill()
        raise SystemExit("the loopback server did not start")
    return proc, base
