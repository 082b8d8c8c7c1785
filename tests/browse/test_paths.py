"""Images are served only from inside the data root: paths that climb out, absolute paths and links whose far end
leaves the root are refused (403), links to devices are never read, and a source folder linked to another disk
is followed, as the design's path policy says."""

from __future__ import annotations

from pathlib import Path

from llavamix.browse import BrowseOptions
from tests.browse.conftest import COCO, Served, serving, turns
from tests.fs import no_hang
from tests.mixdata import IMAGES, write_mix


def test_climbing_out_with_dotdot_is_refused(served: Served) -> None:
    status, _, body = served.get("/image/5")  # "../secret.jpg": the file exists beside the root
    assert status == 403 and b"climbs out" in body and b"serves only files inside" in body


def test_absolute_path_is_refused(served: Served) -> None:
    status, _, body = served.get("/image/6")  # "/etc/hostname"
    assert status == 403 and b"absolute path" in body


def test_file_linked_out_of_the_root_is_refused(served: Served) -> None:
    status, _, body = served.get("/image/7")  # coco/train2017/linked.jpg -> outside/secret.jpg
    assert status == 403 and b"is a link to" in body and b"outside" in body


def test_link_to_a_device_is_not_read(served: Served) -> None:
    with no_hang(20):
        status, _, body = served.get("/image/8")  # coco/train2017/zero.jpg -> /dev/zero
    assert status == 404 and b"not a regular file" in body


def test_urls_never_name_files(served: Served) -> None:
    for path in ("/image/..%2F..%2Fetc%2Fpasswd", "/image/../../etc/passwd", "/data/coco/train2017/x.jpg"):
        status, _, _ = served.get(path)
        assert status in (400, 404), path


def test_source_folder_linked_to_another_disk_is_followed(tmp_path: Path) -> None:
    disk = tmp_path / "disk" / "coco" / "train2017"
    disk.mkdir(parents=True)
    (disk / "000000000001.jpg").write_bytes(IMAGES[COCO])
    (disk / "escape.jpg").symlink_to(tmp_path / "secret.jpg")  # a link inside the linked folder that leaves it
    (tmp_path / "secret.jpg").write_bytes(IMAGES[COCO])
    root = tmp_path / "data"
    root.mkdir()
    (root / "coco").symlink_to(tmp_path / "disk" / "coco")
    recs = [
        {"id": 1, "image": COCO, "conversations": turns("<image>\nq", "a")},
        {"id": 2, "image": "coco/train2017/escape.jpg", "conversations": turns("<image>\nq", "a")},
    ]
    mix = write_mix(tmp_path / "mix.json", recs)
    with serving(mix, root, BrowseOptions(cache=tmp_path / "cache")) as running:
        assert running.get("/image/0")[0] == 200
        status, _, body = running.get("/image/1")
        assert status == 403 and b"is a link to" in body
