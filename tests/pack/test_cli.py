"""``llavamix pack`` on the command line: exit codes 0, 1 (cannot pack), 2 (bad option) and 3 (records left out)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from llavamix.cli import cli
from llavamix.foundation.formats.pack import read_manifest

pytest.importorskip("pyarrow")


def _pack(mix: Path, root: Path, out: Path, *extra: str) -> tuple[int, str]:
    args = ["pack", str(mix), "--root", str(root), "--out", str(out), "--shard-size", "4", "--jobs", "2", *extra]
    result = CliRunner().invoke(cli, args)
    return result.exit_code, " ".join(result.output.split())  # rich wraps long lines


@pytest.mark.parametrize("fmt", ["webdataset", "parquet"])
def test_pack_ok(fmt: str, mix: Path, root: Path, tmp_path: Path) -> None:
    code, output = _pack(mix, root, tmp_path / "out", "--format", fmt)
    assert code == 0, output
    assert "manifest" in output
    assert read_manifest(tmp_path / "out").format == fmt


def test_pack_missing_image_exits_1(mix: Path, root: Path, tmp_path: Path) -> None:
    (root / "coco/train2017/000000000001.jpg").unlink()
    code, output = _pack(mix, root, tmp_path / "out")
    assert code == 1
    assert "missing coco/train2017/000000000001.jpg" in output


def test_pack_skip_exits_3(mix: Path, root: Path, tmp_path: Path) -> None:
    (root / "coco/train2017/000000000001.jpg").unlink()
    code, output = _pack(mix, root, tmp_path / "out", "--on-error", "skip")
    assert code == 3
    assert "left out" in output
    assert read_manifest(tmp_path / "out").packed == 6


def test_pack_bad_shard_size_exits_2(mix: Path, root: Path, tmp_path: Path) -> None:
    code, output = _pack(mix, root, tmp_path / "out", "--shard-size", "lots")
    assert code == 2  # a usage error, like any other bad option value
    assert "shard size" in output
