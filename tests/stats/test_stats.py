"""Stats: composition per source, the sampler's lengths, image sizes and anyres visual tokens."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from llavamix.foundation.records.anyres import best_resolution, visual_tokens
from llavamix.stats import compute_stats, write_html


def write(path: Path, records: list) -> Path:
    path.write_text(json.dumps(records))
    return path


def test_composition_lengths_and_images(tmp_path: Path) -> None:
    root = tmp_path / "data"
    (root / "coco/train2017").mkdir(parents=True)
    Image.new("RGB", (640, 480)).save(root / "coco/train2017/1.jpg")
    recs = [
        {
            "id": 1,
            "image": "coco/train2017/1.jpg",
            "conversations": [{"from": "human", "value": "<image>\nWhat is it?"}, {"from": "gpt", "value": "A cat."}],
        },
        {
            "id": 2,
            "image": "coco/train2017/1.jpg",
            "conversations": [{"from": "human", "value": "<image>\nAgain"}, {"from": "gpt", "value": "Yes"}],
        },
        {
            "id": 3,
            "image": "gqa/images/2.jpg",
            "conversations": [{"from": "human", "value": "<image>\nq"}, {"from": "gpt", "value": "a"}],
        },
        {"id": "t", "conversations": [{"from": "human", "value": "hi there"}, {"from": "gpt", "value": "hello"}]},
        "not a record",
    ]
    report = compute_stats(write(tmp_path / "mix.json", recs), root)
    data = report.to_json()
    assert data["records"] == 5 and data["with_image"] == 3 and data["text_only"] == 1 and data["malformed"] == 1
    assert data["by_source"]["coco"] == {"records": 2, "images": 1, "prefixes": ["coco/train2017"]}
    assert data["by_source"]["gqa"]["records"] == 1 and data["by_source"]["text-only"]["records"] == 1
    # reference: sum(len(v.split())) + 128 for image rows; modality length negative for text-only
    assert list(report.lengths) == [6 + 128, 3 + 128, 3 + 128, 3]  # "<image>" is a word too
    assert list(report.modality_lengths) == [6, 3, 3, -3]
    assert data["images"] == 2 and data["image_sizes"]["readable"] == 1 and data["image_sizes"]["unreadable"] == 1
    assert list(report.visual_tokens) == [visual_tokens((640, 480))]
    pytest.importorskip("matplotlib")
    write_html(report, tmp_path / "stats.html")
    assert (tmp_path / "stats.html").read_text().count("data:image/png;base64,") == 5


@pytest.mark.parametrize(
    ("size", "grid", "tokens"),
    [
        ((672, 672), (672, 672), 576 + 48 * 48 + 48),  # the maximum: no padding
        ((336, 672), (336, 672), 576 + 24 * 48 + 48),
        ((640, 480), (672, 672), 576 + 36 * 48 + 36),  # 4:3 in a 2x2 grid: 6 padding rows cut top and bottom
        ((1000, 100), (1008, 336), 576 + 8 * 72 + 8),  # rows kept: 24 - 2 * ((24 - 7) // 2)
    ],
)
def test_anyres_tokens(size: tuple[int, int], grid: tuple[int, int], tokens: int) -> None:
    assert best_resolution(size) == grid
    assert visual_tokens(size) == tokens


def test_a_record_that_is_not_json_text_fails_the_run_while_a_wrong_shape_is_counted(tmp_path: Path) -> None:
    """A record of the wrong shape is one malformed record; bytes that are not UTF-8 make the file not JSON at all
    (training's json.load refuses it): the run fails, naming the byte, instead of counting it as malformed."""
    good = {"id": 1, "conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "ho"}]}
    shape = write(tmp_path / "shape.json", [good, {"id": 2, "conversations": "not a list"}])
    data = ("[" + json.dumps(good) + ', {"id": "café", "conversations": []}]').encode("latin-1")
    (tmp_path / "latin1.json").write_bytes(data)
    args = [sys.executable, "-m", "llavamix", "stats", "--json"]
    counted = subprocess.run([*args, str(shape)], capture_output=True, text=True, check=False, timeout=120)
    assert counted.returncode == 0, counted.stderr
    assert json.loads(counted.stdout)["malformed"] == 1
    failed = subprocess.run([*args, str(tmp_path / "latin1.json")], capture_output=True, text=True, check=False,
                            timeout=120)  # fmt: skip
    assert failed.returncode == 1 and failed.stdout == ""
    at = data.index("é".encode("latin-1"))
    assert failed.stderr.startswith(f"error: {tmp_path / 'latin1.json'}: record 1 is not valid UTF-8 at byte {at} ")
