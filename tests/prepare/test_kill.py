"""Kill -9 of ``llavamix prepare`` mid-download and mid-extraction, then rerun: same tree, nothing fetched twice."""

from __future__ import annotations

import hashlib
import io
import os
import signal
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

from tests.httpserver import Fault, LoopbackServer
from tests.prepare.conftest import http_catalog, run_cli, tree_digest

BIG_FILES = 6000


def big_zip() -> bytes:
    """A zip with many members so that extraction takes long enough to be interrupted."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for i in range(BIG_FILES):
            info = zipfile.ZipInfo(f"bulk/{i // 1000:02d}/{i:06d}.jpg", date_time=(2024, 1, 1, 0, 0, 0))
            zf.writestr(info, hashlib.sha256(str(i).encode()).digest() * 64)
    return buf.getvalue()


def bulk_catalog(tmp: Path, server: LoopbackServer) -> Path:
    data = big_zip()
    server.add("/bulk.zip", data)
    base = http_catalog(tmp, server).read_text()
    bulk = (
        f'\n[[source]]\nname = "bulk"\nurl = "{server.url("/bulk.zip")}"\nsize = {len(data)}\n'
        f'sha256 = "{hashlib.sha256(data).hexdigest()}"\narchive = "zip"\ninto = "bulk"\nimages = {BIG_FILES}\n'
    )
    out = tmp / "bulk-catalog.toml"
    out.write_text(base + bulk)
    return out


def spawn(catalog: Path, root: Path, *names: str) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "llavamix", "prepare", *names, "--catalog", str(catalog), "--root", str(root)]
    return subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def kill_when(proc: subprocess.Popen[bytes], condition: Callable[[], bool], timeout: float = 60) -> bool:
    """SIGKILL ``proc`` as soon as ``condition()`` holds; False if it finished first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if condition():
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            return True
        time.sleep(0.002)
    proc.kill()
    raise AssertionError("condition never held")


def no_temporaries(root: Path) -> bool:
    outside_state = [p for p in root.rglob("*") if ".llavamix" not in p.parts]
    return not [p for p in outside_state if p.name.endswith(".part") or ".tmp" in p.name]


def test_kill_mid_download_then_rerun_resumes(tmp_path: Path, sample_server: LoopbackServer) -> None:
    catalog = bulk_catalog(tmp_path, sample_server)
    reference = tmp_path / "reference"
    run_cli("prepare", "bulk", "coco", "--catalog", catalog, "--root", reference, check=True)
    size = sample_server.entries["/bulk.zip"].size

    # the answer stops at 2 MiB until the kill has landed: the download cannot finish first, however loaded
    held = Fault(trickle=0.002, trickle_chunk=64 * 1024, hold_after=2 << 20)
    sample_server.fault("/bulk.zip", held)
    root = tmp_path / "data"
    part = root / ".llavamix" / "downloads" / "bulk" / "bulk.zip.part"
    # one connection: the part is one contiguous start, its size what was kept (tests/fetch/test_spread_kill.py
    # kills downloads spread over several)
    proc = spawn(catalog, root, "bulk", "coco", "--connections", "1")
    assert kill_when(proc, lambda: part.exists() and part.stat().st_size > 1 << 20)
    held.resume.set()
    kept = part.stat().st_size
    asked = len(sample_server.gets("/bulk.zip"))

    run_cli("prepare", "bulk", "coco", "--connections", "1", "--catalog", catalog, "--root", root, check=True)
    assert sample_server.ranges("/bulk.zip")[-1] is not None, "the rerun resumed with a Range request"
    # counted per answer: the killed run's answer goes on writing into its dead socket until the write fails
    assert sample_server.sent_to(sample_server.gets("/bulk.zip")[asked:]) == size - kept
    assert tree_digest(root) == tree_digest(reference)
    assert no_temporaries(root)


def test_kill_mid_extract_then_rerun_finishes_without_refetching(tmp_path: Path, sample_server: LoopbackServer) -> None:
    catalog = bulk_catalog(tmp_path, sample_server)
    reference = tmp_path / "reference"
    run_cli("prepare", "bulk", "--catalog", catalog, "--root", reference, check=True)

    landed = 0
    for attempt in range(5):  # the kill must land while members are being written; retry if it came too late
        root = tmp_path / f"data{attempt}"
        target = root / "bulk" / "bulk"
        proc = spawn(catalog, root, "bulk")
        if kill_when(proc, lambda t=target: t.is_dir() and sum(1 for _ in t.rglob("*.jpg")) > 200):
            landed += 1
            break
    assert landed, "could not interrupt an extraction"
    asked = len(sample_server.gets("/bulk.zip"))
    run_cli("prepare", "bulk", "--catalog", catalog, "--root", root, check=True)
    again = sample_server.gets("/bulk.zip")[asked:]
    assert sample_server.sent_to(again) == 0, "the verified archive was not downloaded again"
    assert tree_digest(root) == tree_digest(reference)
    assert no_temporaries(root)
