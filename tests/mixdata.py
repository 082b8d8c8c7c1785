"""A small mix with every record shape the index and pack stages must keep apart, and its images."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from PIL import Image


def _image(fmt: str, size: tuple[int, int], color: tuple[int, int, int]) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, fmt)
    return buf.getvalue()


IMAGES: dict[str, bytes] = {
    "coco/train2017/000000000001.jpg": _image("JPEG", (40, 30), (200, 10, 10)),
    "gqa/images/2327515.jpg": _image("JPEG", (32, 48), (10, 200, 10)),
    "dvqa/images/bar_train_00000001.png": _image("PNG", (24, 24), (10, 10, 200)),
    "ocr_vqa/images/140031996X.JPEG": _image("JPEG", (20, 20), (90, 90, 90)),
    "somewhere/else/noext": _image("PNG", (8, 8), (1, 2, 3)),
}


def records() -> list[dict[str, Any]]:
    """Int and str ids, text-only rows (absent image key, extra keys), odd whitespace, a repeated image."""
    conv = [{"from": "human", "value": "<image>\nWhat is it?"}, {"from": "gpt", "value": "A red  square."}]
    return [
        {"id": "000000000001", "image": "coco/train2017/000000000001.jpg", "conversations": conv},
        {
            "id": 2327515,
            "image": "gqa/images/2327515.jpg",
            "conversations": [
                {"from": "human", "value": "<image>\nAre there hats?\nAnswer the question using a single word."},
                {"from": "gpt", "value": "Yes"},
            ],
        },
        {
            "id": "i6IyJda_0",
            "model": "",
            "conversations": [
                {"from": "human", "value": "Tell me\u00a0a story\u2003please\x1cnow"},
                {"from": "gpt", "value": "\tOnce upon  "},
            ],
        },
        {
            "id": 7,
            "image": "dvqa/images/bar_train_00000001.png",
            "conversations": [
                {"from": "human", "value": "Ünïcödé <image>"},
                {"from": "gpt", "value": "日本語 テキスト"},
            ],
        },
        {"id": "ocr", "image": "ocr_vqa/images/140031996X.JPEG", "conversations": conv, "extra": {"k": [1, 2]}},
        {"id": "again", "image": "coco/train2017/000000000001.jpg", "conversations": conv},
        {"conversations": [{"from": "human", "value": "no id at all"}, {"from": "gpt", "value": "ok"}]},
        {"id": "noext", "image": "somewhere/else/noext", "conversations": conv},
    ]


def write_mix(path: Path, recs: list[Any] | None = None) -> Path:
    """Write records as a JSON array the way the real mix looks (indented, one record per block)."""
    path.write_text(json.dumps(records() if recs is None else recs, indent=1, ensure_ascii=False), "utf-8")
    return path


def write_images(root: Path) -> Path:
    for rel, data in IMAGES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    return root


def reference_lengths(record: dict[str, Any]) -> tuple[int, int]:
    """The reference dataset's ``lengths`` / ``modality_lengths`` of one record, computed the plain way."""
    words = sum(len(turn["value"].split()) for turn in record["conversations"])
    return words + (128 if "image" in record else 0), (words if "image" in record else -words)
