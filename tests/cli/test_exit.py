"""How the ``llavamix`` process ends: ``exit_now`` skips the interpreter's module by module teardown but keeps
everything an ordinary exit does: the exit code, threads joined, exit hooks run, stdout and stderr flushed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

# stdout buffered, as a command's output usually is when piped
BUFFERED = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=BUFFERED)


@pytest.mark.parametrize(("code", "status"), [("None", 0), ("0", 0), ("3", 3), ("130", 130), ("'no such thing'", 1)])
def test_the_exit_code_is_the_system_exit_code(code: str, status: int) -> None:
    done = run_python(f"from llavamix.cli.exits import exit_now\nexit_now({code})")
    assert done.returncode == status
    assert ("no such thing" in done.stderr) is (status == 1)


def test_threads_are_joined_hooks_run_and_output_flushed(tmp_path: Path) -> None:
    code = f"""
import atexit, sys, threading, time
from pathlib import Path
from llavamix.cli.exits import exit_now
out = Path({str(tmp_path)!r})
atexit.register(lambda: (out / "hook").write_text("ran"))
worker = threading.Thread(target=lambda: (time.sleep(0.3), (out / "thread").write_text("done")))
worker.start()
sys.stdout.write("x" * 100_000)  # still in the buffer when exit_now runs
sys.stderr.write("last words")
exit_now(0)
"""
    done = run_python(code)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "x" * 100_000
    assert done.stderr == "last words"
    assert (tmp_path / "thread").read_text() == "done"
    assert (tmp_path / "hook").read_text() == "ran"


def test_a_reader_gone_is_exit_code_120() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody will read: the flush at exit fails with EPIPE
    try:
        code = "import sys\nfrom llavamix.cli.exits import exit_now\nsys.stdout.write('x')\nexit_now(0)"
        done = subprocess.run(
            [sys.executable, "-c", code], stdout=write_end, stderr=subprocess.PIPE, timeout=60, env=BUFFERED
        )
    finally:
        os.close(write_end)
    assert done.returncode == 120


def test_the_command_line_exits_through_it_with_its_codes_and_whole_output(tmp_path: Path) -> None:
    listed = subprocess.run(
        [sys.executable, "-m", "llavamix", "sources", "--catalog", "sample", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert listed.returncode == 0, listed.stderr
    assert {s["name"] for s in json.loads(listed.stdout)} >= {"mix1m", "coco"}  # the whole JSON, flushed
    usage = subprocess.run([sys.executable, "-m", "llavamix", "fetch", "--jobs", "0"], capture_output=True, text=True)
    assert usage.returncode == 2
    assert "--jobs" in usage.stderr
    missing = tmp_path / "nowhere.toml"
    failed = subprocess.run(
        [sys.executable, "-m", "llavamix", "status", "--catalog", str(missing), "--root", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert failed.returncode == 1
    assert "nowhere.toml" in failed.stderr


def test_a_profiler_still_writes_its_results(tmp_path: Path) -> None:
    stats = tmp_path / "help.prof"
    done = subprocess.run(
        [sys.executable, "-m", "cProfile", "-o", str(stats), "-m", "llavamix", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "Usage" in done.stdout
    assert stats.stat().st_size > 0  # written after the program returned: exit_now took the ordinary exit
