"""stats --root reads image headers of regular files inside the root only: a FIFO is no hang, a link to /dev/zero
no endless read, and a path outside the root is counted without being opened."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from PIL import Image


def record(rid: int, image: str) -> dict:
    return {
        "id": rid,
        "image": image,
        "conversations": [{"from": "human", "value": "<image>\nq"}, {"from": "gpt", "value": "a"}],
    }


def test_special_files_and_outside_paths_finish_as_problems(tmp_path: Path) -> None:
    root = tmp_path / "a" / "data"
    (root / "coco").mkdir(parents=True)
    Image.new("RGB", (64, 48)).save(root / "coco" / "ok.jpg")
    os.mkfifo(root / "coco" / "x.jpg")
    (root / "coco" / "zero.jpg").symlink_to("/dev/zero")
    Image.new("RGB", (640, 480)).save(tmp_path / "outside.jpg")  # a real image: opened, it would count as read
    os.mkfifo(tmp_path / "outside_fifo.jpg")  # opened, it would hang
    images = [
        "coco/ok.jpg",
        "coco/x.jpg",
        "coco/zero.jpg",
        str(tmp_path / "outside.jpg"),
        "coco/../../../outside_fifo.jpg",
    ]
    assert (root / images[4]).resolve() == tmp_path / "outside_fifo.jpg"
    mix = tmp_path / "mix.json"
    mix.write_text(json.dumps([record(i, image) for i, image in enumerate(images)]))
    args = [sys.executable, "-m", "llavamix", "stats", str(mix), "--root", str(root), "--json", "--jobs", "1"]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    sizes = json.loads(proc.stdout)["image_sizes"]
    assert (sizes["readable"], sizes["unreadable"], sizes["outside_root"]) == (1, 4, 2)
    assert sizes["width"]["max"] == 64, "only the image inside the root was read"
