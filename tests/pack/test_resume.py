"""Reruns of ``pack``: a shard is reused exactly when what it was built from is unchanged, and an interrupted
shard (exception or kill -9) never appears at its final name, so the rerun equals a clean pack."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from llavamix.foundation.formats import parquet
from llavamix.foundation.formats.pack import FORMATS, SUFFIX, iter_shard, shard_paths
from llavamix.foundation.layout import Layout
from llavamix.pack import PackOptions, ShardSize, pack_mix, run, samples
from tests.mixdata import IMAGES, records, write_mix

pq = pytest.importorskip("pyarrow.parquet")

STALL_HOOK = Path(__file__).parent / "stall"  # holds the sitecustomize.py that stalls the killed pack
COCO = "coco/train2017/000000000001.jpg"  # the image of records 0 and 5


def _options(fmt: str = "webdataset", size: str = "3") -> PackOptions:
    return PackOptions(format=fmt, shard_size=ShardSize.parse(size))  # type: ignore[arg-type]


def _names(fmt: str, *numbers: int) -> list[str]:
    return [f"mix-{n:06d}{SUFFIX[fmt]}" for n in numbers]


def _identity(out: Path) -> dict[str, tuple[int, int]]:
    """Each shard file's inode and mtime: both change when a shard is written again (written via rename)."""
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in out.iterdir() if p.suffix in (".tar", ".parquet")}


def _assert_same_pack(out: Path, clean: Path) -> None:
    """Every shard and the manifest byte-identical to a pack written from scratch; no temporaries left."""
    names = sorted(p.name for p in clean.iterdir() if not p.name.endswith(".plan.json"))
    assert sorted(p.name for p in out.iterdir() if not p.name.endswith(".plan.json")) == names
    for name in names:
        assert (out / name).read_bytes() == (clean / name).read_bytes(), name


# --- stale shards: a shard is rebuilt exactly when its records or images changed ---


@pytest.mark.parametrize("fmt", FORMATS)
def test_same_length_edit_rebuilds_exactly_the_affected_shard(fmt: str, mix: Path, root: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    pack_mix(mix, root, out, _options(fmt))
    before, size = _identity(out), mix.stat().st_size
    edited = records()
    edited[4]["conversations"] = [{"from": "human", "value": "<image>\nWhat is it?"},
                                  {"from": "gpt", "value": "A blue square."}]  # was "A red  square."  # fmt: skip
    write_mix(mix, edited)
    assert mix.stat().st_size == size, "the edit keeps the mix's size and record count"

    report = pack_mix(mix, root, out, _options(fmt))
    assert report.written == _names(fmt, 1)
    assert report.reused == _names(fmt, 0, 2)
    after = _identity(out)
    assert [after[n] == before[n] for n in _names(fmt, 0, 1, 2)] == [True, False, True]
    [packed] = [s for s in iter_shard(out / _names(fmt, 1)[0]) if s.index == 4]
    assert b"A blue square." in packed.raw
    _assert_same_pack(out, pack_mix(mix, root, tmp_path / "clean", _options(fmt)).out_dir)


@pytest.mark.parametrize("fmt", FORMATS)
def test_replaced_image_rebuilds_the_shards_that_hold_it(fmt: str, mix: Path, root: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    pack_mix(mix, root, out, _options(fmt))
    new = bytes(IMAGES[COCO][:-3]) + b"\x00\x01\x02"  # same size, other bytes
    (root / "new.jpg").write_bytes(new)
    os.replace(root / "new.jpg", root / COCO)  # as a re-extraction installs a file

    report = pack_mix(mix, root, out, _options(fmt))
    assert report.written == _names(fmt, 0, 1)
    assert report.reused == _names(fmt, 2)
    images = {s.index: s.image for p in shard_paths(out) for s in iter_shard(p)}
    assert images[0] == images[5] == new
    _assert_same_pack(out, pack_mix(mix, root, tmp_path / "clean", _options(fmt)).out_dir)


def test_unchanged_rerun_reuses_every_shard(mix: Path, root: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    pack_mix(mix, root, out, _options())
    before = _identity(out)
    report = pack_mix(mix, root, out, _options())
    assert (report.written, report.reused) == ([], _names("webdataset", 0, 1, 2))
    assert _identity(out) == before


def test_image_replaced_while_packing_fails_its_shards_and_the_rerun_rebuilds_them(
    mix: Path, root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out, new = tmp_path / "out", bytes(IMAGES[COCO][:-3]) + b"\x00\x01\x02"
    real_plan = run.plan_shards

    def plan_then_replace(*args: Any) -> Any:
        planned = real_plan(*args)
        (root / "new.jpg").write_bytes(new)
        os.replace(root / "new.jpg", root / COCO)  # after the plan, before any shard is written
        return planned

    monkeypatch.setattr(run, "plan_shards", plan_then_replace)
    first = pack_mix(mix, root, out, _options())
    assert sorted(first.failed) == _names("webdataset", 0, 1)
    assert "changed while the pack ran" in str(first.failed["mix-000000.tar"])
    assert sorted(_identity(out)) == _names("webdataset", 2) and first.manifest is None

    monkeypatch.undo()
    again = pack_mix(mix, root, out, _options())
    assert (again.written, again.reused) == (_names("webdataset", 0, 1), _names("webdataset", 2))
    _assert_same_pack(out, pack_mix(mix, root, tmp_path / "clean", _options()).out_dir)


# --- crash safety: an interrupted shard is never at its final name ---


def _fail_on_read(monkeypatch: pytest.MonkeyPatch, number: int) -> Callable[[Layout, str], Any]:
    """Make the ``number``-th image read raise like a failing disk; returns the real reader."""
    real = samples.read_image
    reads = [0]

    def failing(layout: Layout, image: str) -> Any:
        reads[0] += 1
        if reads[0] == number:
            raise OSError(5, "Input/output error", image)
        return real(layout, image)

    monkeypatch.setattr(samples, "read_image", failing)
    return real


@pytest.mark.parametrize("fmt", FORMATS)
def test_exception_mid_shard_leaves_no_shard_and_the_rerun_equals_a_clean_pack(
    fmt: str, mix: Path, root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parquet, "ROW_GROUP_ROWS", 1)  # so record 3's row reaches the file before the failure
    clean = pack_mix(mix, root, tmp_path / "clean", _options(fmt)).out_dir
    out = tmp_path / "out"
    real = _fail_on_read(monkeypatch, 4)  # image reads 3, 4, 5 are records 3, 4, 5: shard 1's second record

    first = pack_mix(mix, root, out, _options(fmt))
    assert list(first.failed) == _names(fmt, 1)
    assert "Input/output error" in str(first.failed[_names(fmt, 1)[0]])
    assert first.manifest is None
    assert sorted(_identity(out)) == _names(fmt, 0, 2)
    assert not list(out.glob("*.part"))

    monkeypatch.setattr(samples, "read_image", real)
    again = pack_mix(mix, root, out, _options(fmt))
    assert (again.written, again.reused) == (_names(fmt, 1), _names(fmt, 0, 2))
    _assert_same_pack(out, clean)


class _FooterFails(pq.ParquetWriter):  # type: ignore[misc,name-defined]
    """A Parquet writer whose first close fails before the footer is written, as a failing disk would."""

    failed = False

    def close(self) -> None:
        if not self.failed:
            self.failed = True
            raise OSError(5, "Input/output error")
        super().close()  # the garbage collector's close: the file is no longer anyone's shard


def test_parquet_shard_is_published_only_after_its_footer(
    mix: Path, root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    monkeypatch.setattr(pq, "ParquetWriter", _FooterFails)
    first = pack_mix(mix, root, out, _options("parquet"))
    assert sorted(first.failed) == _names("parquet", 0, 1, 2)
    assert all("Input/output error" in str(error) for error in first.failed.values())
    assert not list(out.glob("*.parquet*"))

    monkeypatch.undo()
    again = pack_mix(mix, root, out, _options("parquet"))
    assert again.written == _names("parquet", 0, 1, 2)
    _assert_same_pack(out, pack_mix(mix, root, tmp_path / "clean", _options("parquet")).out_dir)


def _big_mix(tmp_path: Path) -> tuple[Path, Path]:
    """12 records, each with its own 64 KiB image: big enough that a shard's first record reaches the disk."""
    root = tmp_path / "data"
    (root / "big").mkdir(parents=True)
    recs = []
    for i in range(12):
        (root / "big" / f"{i}.jpg").write_bytes(bytes([i]) * (64 << 10))
        turns = [{"from": "human", "value": f"<image>\nNumber {i}?"}, {"from": "gpt", "value": str(i)}]
        recs.append({"id": i, "image": f"big/{i}.jpg", "conversations": turns})
    return write_mix(tmp_path / "mix.json", recs), root


def _pack_cmd(mix: Path, root: Path, out: Path, fmt: str) -> list[str]:
    args = ["pack", str(mix), "--root", str(root), "--out", str(out), "--format", fmt, "--shard-size", "4"]
    return [sys.executable, "-m", "llavamix", *args, "--jobs", "1"]


def _wait_for(path: Path, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, "the pack ended before it reached the stall"
        assert time.monotonic() < deadline, "the pack never reached the stall"
        time.sleep(0.01)


@pytest.mark.parametrize("fmt", FORMATS)
def test_kill_mid_shard_then_rerun_equals_a_clean_pack(fmt: str, tmp_path: Path) -> None:
    mix, root = _big_mix(tmp_path)
    clean = pack_mix(mix, root, tmp_path / "clean", _options(fmt, "4")).out_dir
    out, ready = tmp_path / "out", tmp_path / "stalled"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(STALL_HOOK), os.environ.get("PYTHONPATH", "")]),
           "LLAVAMIX_TEST_STALL_AT": "6", "LLAVAMIX_TEST_STALL_READY": str(ready)}  # fmt: skip
    proc = subprocess.Popen(_pack_cmd(mix, root, out, fmt), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)  # fmt: skip
    try:
        _wait_for(ready, proc)  # the 6th image read: shard 1 is open with record 4 written
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    [shard0, shard1, _] = _names(fmt, 0, 1, 2)
    assert sorted(_identity(out)) == [shard0], "only the finished shard is at its final name"
    assert (out / f"{shard1}.part").is_file(), "the kill landed while shard 1 was being written"
    kept = _identity(out)

    rerun = subprocess.run(_pack_cmd(mix, root, out, fmt), capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert _identity(out)[shard0] == kept[shard0], "the finished shard was reused, not written again"
    _assert_same_pack(out, clean)
