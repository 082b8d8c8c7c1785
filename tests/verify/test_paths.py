"""Record image paths: one that is absolute or climbs out of the root is `outside_root` and never touched; only
regular files are read, so a FIFO or a link to a device is `missing`, never a hang or an endless read."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from llavamix.foundation.records.imagefile import locate_image
from llavamix.verify.images import inspect_image
from tests.fs import no_hang
from tests.verify.conftest import image_files, record, write_mix


def run_verify(mix: Path, root: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    args = [sys.executable, "-m", "llavamix", "verify", str(mix), "--root", str(root), "--jobs", "1", *extra]
    return subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture
def deep_root(tmp_path: Path) -> Path:
    """A data root two folders below ``tmp_path`` (so ``coco/../../../etc/hostname`` lands on
    ``tmp_path/etc/hostname``, a real file outside it), with the verify images and a ``coco`` folder."""
    root = tmp_path / "a" / "data"
    for rel, data in image_files().items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    (root / "coco").mkdir()
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "hostname").write_text("a host name\n")
    return root


@pytest.mark.parametrize("deep", [False, True])
def test_paths_outside_the_root_are_errors_and_dropped_from_the_clean_json(
    deep_root: Path, tmp_path: Path, deep: bool
) -> None:
    outside = ["/etc/passwd", "coco/../../../etc/hostname", "/no/such/folder/x.jpg"]
    assert (deep_root / outside[1]).resolve() == tmp_path / "etc" / "hostname"  # a real file, outside the root
    inside = record(rid=9, image="undecodable/../ok/photo.jpg")  # '..' that stays inside is no escape
    records = [record(rid=0), *(record(rid=i + 1, image=p) for i, p in enumerate(outside)), inside]
    mix = write_mix(tmp_path / "mix.json", records)
    report, clean = tmp_path / "r.json", tmp_path / "clean.json"
    extra = ["--report", str(report), "--write-clean", str(clean)] + (["--deep"] if deep else [])
    proc = run_verify(mix, deep_root, *extra)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "outside_root" in proc.stdout
    data = json.loads(report.read_text())
    assert data["errors"] == {"outside_root": 3}
    assert [(p["index"], p["code"], p["path"]) for p in data["problems"]] == [
        (i + 1, "outside_root", p) for i, p in enumerate(outside)
    ]
    details = [p["detail"] for p in data["problems"]]
    assert "is an absolute path" in details[0] and "climbs out" in details[1] and "absolute" in details[2]
    assert json.loads(clean.read_text()) == [record(rid=0), inside]


@pytest.mark.parametrize(
    ("rel", "code", "detail"),
    [
        ("/etc/passwd", "outside_root", "is an absolute path"),
        ("a/../../x.jpg", "outside_root", "climbs out of its folder"),
        ("", "missing", "is empty"),
        ("a\0b.jpg", "missing", "NUL"),
    ],
)
def test_place_image_judges_the_path_alone(rel: str, code: str, detail: str) -> None:
    check = locate_image("/nonexistent-root", rel)
    assert check.code == code and detail in check.detail and check.stat is None


@pytest.fixture
def special_root(tmp_path: Path) -> Path:
    """A root holding a good image, a FIFO named like an image and a link to /dev/zero named like one."""
    root = tmp_path / "data"
    root.mkdir()
    (root / "ok.jpg").write_bytes(image_files()["ok/photo.jpg"])
    os.mkfifo(root / "fifo.jpg")
    (root / "zero.jpg").symlink_to("/dev/zero")
    return root


def test_deep_verify_reports_fifo_and_device_link_as_missing(special_root: Path, tmp_path: Path) -> None:
    images = ["ok.jpg", "fifo.jpg", "zero.jpg"]
    mix = write_mix(tmp_path / "mix.json", [record(rid=i, image=p) for i, p in enumerate(images)])
    proc = run_verify(mix, special_root, "--deep", "--report", str(tmp_path / "r.json"))
    assert proc.returncode == 3, proc.stdout + proc.stderr
    problems = json.loads((tmp_path / "r.json").read_text())["problems"]
    assert [(p["path"], p["code"], p["detail"]) for p in problems] == [
        ("fifo.jpg", "missing", "not a regular file (a FIFO)"),
        ("zero.jpg", "missing", "not a regular file (a character device)"),
    ]


@pytest.mark.parametrize(("name", "kind"), [("fifo.jpg", "a FIFO"), ("zero.jpg", "a character device")])
def test_inspect_image_opens_only_regular_files(special_root: Path, name: str, kind: str) -> None:
    """The deep check itself, as when a file is swapped for a FIFO or a device link after the quick stat."""
    with no_hang():
        check = inspect_image(str(special_root / name))
    assert (check.code, check.detail) == ("missing", f"not a regular file ({kind})")
    assert inspect_image(str(special_root / "ok.jpg")).code is None
