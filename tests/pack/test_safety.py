"""What pack reads: only regular, non-empty files inside the data root; any other image is a per-record problem
that the ``on_error`` policy handles (fail: nothing written, skip: the record left out and listed), never read."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from llavamix.foundation.errors import PackError
from llavamix.foundation.formats.pack import FORMATS, iter_shard, read_manifest, shard_paths
from llavamix.pack import PackOptions, ShardSize, pack_mix
from tests.mixdata import records, write_images, write_mix

pytest.importorskip("pyarrow")

SECRET = b"bytes from outside the data root that no shard may ever hold"
MEMORY_CAP = 2 << 30  # a pack that reads /dev/zero without end hits this instead of the machine's memory
TIMEOUT = 60  # a pack that blocks on a FIFO is stopped here; a correct one takes a second or two


def _options(fmt: str = "webdataset", on_error: str = "fail") -> PackOptions:
    return PackOptions(format=fmt, shard_size=ShardSize.parse("4"), on_error=on_error)  # type: ignore[arg-type]


def _with_image(rid: str, image: str) -> dict[str, Any]:
    turns = [{"from": "human", "value": "<image>\nWhat is it?"}, {"from": "gpt", "value": "Something."}]
    return {"id": rid, "image": image, "conversations": turns}


def _escaping_mix(tmp_path: Path) -> tuple[Path, Path]:
    """A mix whose last records point outside the root ``tmp_path/x/data`` at files holding SECRET."""
    root = write_images(tmp_path / "x" / "data")
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "hostname").write_bytes(SECRET)  # where coco/../../../etc/hostname lands from this root
    (tmp_path / "secret.jpg").write_bytes(SECRET)
    bad = [
        _with_image("passwd", "/etc/passwd"),
        _with_image("absolute", str(tmp_path / "secret.jpg")),
        _with_image("climb", "coco/../../../etc/hostname"),
    ]
    return write_mix(tmp_path / "m.json", [*records(), *bad]), root


def _shard_bytes(out: Path) -> list[bytes]:
    return [p.read_bytes() for p in sorted(out.iterdir()) if p.suffix in (".tar", ".parquet")]


def test_paths_outside_the_root_fail_the_pack_before_writing(tmp_path: Path) -> None:
    mix, root = _escaping_mix(tmp_path)
    expected = (
        r"3 record\(s\) cannot be packed: record 8 \(id 'passwd'\): outside_root /etc/passwd \(the image path is an "
        r"absolute path.*record 10 \(id 'climb'\): outside_root coco/\.\./\.\./\.\./etc/hostname \(the image path "
        r"climbs out"
    )
    with pytest.raises(PackError, match=expected):
        pack_mix(mix, root, tmp_path / "out", _options())
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("fmt", FORMATS)
def test_paths_outside_the_root_are_never_embedded(fmt: str, tmp_path: Path) -> None:
    mix, root = _escaping_mix(tmp_path)
    report = pack_mix(mix, root, tmp_path / "out", _options(fmt, "skip"))
    assert [(p.index, p.code) for p in report.problems] == [(8, "outside_root"), (9, "outside_root"),
                                                            (10, "outside_root")]  # fmt: skip
    assert not report.failed
    samples = [s for p in shard_paths(tmp_path / "out") for s in iter_shard(p)]
    assert [s.index for s in samples] == list(range(8))
    passwd = Path("/etc/passwd").read_bytes() if Path("/etc/passwd").is_file() else b""
    for data in [*(s.image or b"" for s in samples), *_shard_bytes(tmp_path / "out")]:
        assert SECRET not in data
        assert not passwd or passwd not in data


SPECIAL = {  # id -> (image path, how it is made, what pack says of it)
    "fifo": ("coco/train2017/fifo.jpg", os.mkfifo, "not a regular file (a FIFO)"),
    "zero": ("coco/zero.jpg", lambda p: p.symlink_to("/dev/zero"), "not a regular file (a character device)"),
    "random": ("coco/random.jpg", lambda p: p.symlink_to("/dev/urandom"), "not a regular file (a character device)"),
}


def _special_mix(tmp_path: Path, root: Path, *ids: str) -> Path:
    for rid in ids:
        image, make, _ = SPECIAL[rid]
        make(root / image)
    return write_mix(tmp_path / "m.json", [*records(), *(_with_image(rid, SPECIAL[rid][0]) for rid in ids)])


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def _pack_cli(mix: Path, root: Path, out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """A real ``python -m llavamix pack``, stopped (and the test failed) if it hangs or reads without end."""
    args = ["pack", str(mix), "--root", str(root), "--out", str(out), "--shard-size", "4", *extra]
    cmd = [sys.executable, "-m", "llavamix", *args]
    env = {**os.environ, "COLUMNS": "300"}  # one line per message, whatever the terminal
    return subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT, preexec_fn=_cap_memory, env=env)


@pytest.mark.parametrize("fmt", FORMATS)
def test_fifo_and_device_links_are_left_out_never_read(fmt: str, root: Path, tmp_path: Path) -> None:
    mix = _special_mix(tmp_path, root, *SPECIAL)
    result = _pack_cli(mix, root, tmp_path / "out", "--format", fmt, "--on-error", "skip")
    assert result.returncode == 3, result.stderr
    assert "left out record 8 (id 'fifo'): missing coco/train2017/fifo.jpg" in result.stderr
    manifest = read_manifest(tmp_path / "out")
    assert [(p.index, p.id, p.code, p.detail) for p in manifest.skipped] == [
        (8 + n, rid, "missing", detail) for n, (rid, (_, _, detail)) in enumerate(SPECIAL.items())
    ]
    assert [s.index for p in shard_paths(tmp_path / "out") for s in iter_shard(p)] == list(range(8))


@pytest.mark.parametrize("rid", SPECIAL)
def test_fifo_and_device_links_fail_the_pack_at_once(rid: str, root: Path, tmp_path: Path) -> None:
    mix = _special_mix(tmp_path, root, rid)
    result = _pack_cli(mix, root, tmp_path / "out")
    assert result.returncode == 1, result.stderr
    image, _, detail = SPECIAL[rid]
    assert f"1 record(s) cannot be packed: record 8 (id {rid!r}): missing {image} ({detail})" in result.stderr
    assert not (tmp_path / "out").exists()


def _folder_and_empty_mix(tmp_path: Path, root: Path) -> Path:
    (root / "coco" / "folder.jpg").mkdir()
    (root / "coco" / "empty.jpg").write_bytes(b"")
    bad = [_with_image("folder", "coco/folder.jpg"), _with_image("empty", "coco/empty.jpg")]
    return write_mix(tmp_path / "m.json", [*records(), *bad])


@pytest.mark.parametrize("fmt", FORMATS)
def test_skip_leaves_out_folders_and_empty_images(fmt: str, root: Path, tmp_path: Path) -> None:
    mix = _folder_and_empty_mix(tmp_path, root)
    report = pack_mix(mix, root, tmp_path / "out", _options(fmt, "skip"))
    assert report.failed == {}
    assert [(p.index, p.code, p.detail) for p in report.problems] == [
        (8, "missing", "not a regular file (a folder)"), (9, "empty_file", "0 bytes")]  # fmt: skip
    assert report.shards[-1].skipped == [8, 9]
    assert [s.index for p in shard_paths(tmp_path / "out") for s in iter_shard(p)] == list(range(8))
    assert [p.index for p in read_manifest(tmp_path / "out").skipped] == [8, 9]


def test_fail_names_folders_and_empty_images(root: Path, tmp_path: Path) -> None:
    mix = _folder_and_empty_mix(tmp_path, root)
    expected = r"record 8 \(id 'folder'\): missing coco/folder.jpg .*record 9 \(id 'empty'\): empty_file coco/empty"
    with pytest.raises(PackError, match=expected):
        pack_mix(mix, root, tmp_path / "out", _options())
    assert not (tmp_path / "out").exists()
