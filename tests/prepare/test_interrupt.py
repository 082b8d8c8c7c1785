"""Ctrl-C and SIGTERM stop ``llavamix prepare`` at once (not after every queued source), keep the partial download,
leave nothing half-written at a final path, exit 128 + the signal, and a rerun finishes the same tree."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.httpserver import LoopbackServer
from tests.prepare.conftest import tree_digest
from tests.prepare.runs import (
    BIG,
    BIG_SIZE,
    Gate,
    Run,
    background,
    big_catalog,
    has_bytes,
    part_of,
    run_cli,
    wait_until,
)

__all__ = ["background"]  # the fixture, used by name

STOP_WITHIN = 30  # seconds; the held download alone would need over four minutes


def temporaries(root: Path) -> list[Path]:
    """Temporary files outside llavamix's own state folder (the downloads folder lives inside it)."""
    outside = [p for p in root.rglob("*") if ".llavamix" not in p.relative_to(root).parts]
    return [p for p in outside if p.name.endswith(".part") or ".tmp" in p.name]


@pytest.mark.parametrize(
    ("signum", "code", "said"),
    [(signal.SIGINT, 130, "Ctrl-C"), (signal.SIGTERM, 143, "SIGTERM")],
    ids=["SIGINT", "SIGTERM"],
)
def test_stop_keeps_partial_work_and_rerun_resumes(
    tmp_path: Path,
    sample_server: LoopbackServer,
    background: Callable[..., Run],
    signum: int,
    code: int,
    said: str,
) -> None:
    catalog = big_catalog(tmp_path, sample_server)
    reference = tmp_path / "reference"
    run_cli("prepare", "--catalog", catalog, "--root", reference, check=True)
    clean = tree_digest(reference)

    gate = Gate(sample_server)
    root = tmp_path / "data"
    part = part_of(root / ".llavamix" / "downloads")
    # one connection: the part is one contiguous start, its size what was kept (tests/fetch/test_spread.py stops
    # downloads spread over several)
    run = background("prepare", "--catalog", catalog, "--root", root, "--jobs", "4", "--connections", "1")
    wait_until(lambda: has_bytes(part), run, "the held download started")
    os.kill(run.pid, signum)
    try:
        assert run.wait(STOP_WITHIN) == code, run.stderr
    except subprocess.TimeoutExpired:
        pytest.fail(f"prepare was still running {STOP_WITHIN}s after {said}")

    stopped = " ".join(run.stderr.split())
    assert f"stopped by {said}" in stopped and "rerun the same command to resume" in stopped
    assert "Traceback" not in run.stderr and "Aborted" not in run.stderr
    kept = part.stat().st_size
    assert 0 < kept < BIG_SIZE, "the partial download was not kept"
    assert not (root / "big" / "big.bin").exists()
    assert not temporaries(root)
    landed = tree_digest(root)
    assert all(clean.get(rel) == digest for rel, digest in landed.items()), "a file at its final path differs"

    gate.release()
    asked = len(sample_server.gets(BIG))
    rerun = run_cli("prepare", "--catalog", catalog, "--root", root, "--connections", "1")
    assert rerun.returncode == 0, rerun.stderr
    assert sample_server.ranges(BIG)[-1] == f"bytes={kept}-", "the rerun resumed where the stop left off"
    # counted per answer, not per path: the stopped run's answer wakes from the gate's pause and writes one more
    # chunk into its dead socket whenever it likes, and that chunk was not sent to the rerun
    assert sample_server.sent_to(sample_server.gets(BIG)[asked:]) == BIG_SIZE - kept
    assert tree_digest(root) == clean
