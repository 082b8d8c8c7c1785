"""``python -m llavamix mix build`` as a user runs it: the tables, the files, the exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.mix.builds import image_bytes, put_image, recipe, record, write_json

RECIPE = """seed = 1
[[input]]
name = "a"
path = "a.json"
root = "data"
[[select]]
image_prefix = "coco/"
action = "cap"
count = 2
"""


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "llavamix", "mix", "build", *args], capture_output=True, text=True, check=False
    )


def test_mix_build_writes_verifies_and_indexes(tmp_path: Path) -> None:
    for i in range(4):
        put_image(tmp_path / "data", f"coco/{i}.png", image_bytes((32, 32), (i * 40, 0, 0)))
    write_json(tmp_path / "a.json", [record(i, f"coco/{i}.png", f"q{i}") for i in range(4)] + [record(9, None, "t")])
    done = run(str(recipe(tmp_path, RECIPE)), "--out", str(tmp_path / "new.json"), "--index", str(tmp_path / "new.idx"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "#1 cap 2 image_prefix='coco/'" in done.stdout
    assert "3 records ->" in done.stdout
    assert len(json.loads((tmp_path / "new.json").read_bytes())) == 3
    assert json.loads((tmp_path / "new.verify.json").read_bytes())["ok"] == 3
    for name in ("new.manifest.json", "new.provenance.jsonl", "new.idx"):
        assert (tmp_path / name).is_file()


def test_mix_build_exits_3_when_the_output_would_fail_training(tmp_path: Path) -> None:
    write_json(tmp_path / "a.json", [record(i, f"coco/{i}.png", f"q{i}") for i in range(3)])
    done = run(str(recipe(tmp_path, RECIPE)), "--out", str(tmp_path / "new.json"))
    assert done.returncode == 3, done.stdout + done.stderr
    assert "missing" in done.stdout


def test_a_recipe_error_is_one_line_and_exit_1(tmp_path: Path) -> None:
    write_json(tmp_path / "a.json", [record(0, None, "q")])
    done = run(str(recipe(tmp_path, RECIPE)), "--out", str(tmp_path / "new.json"))
    assert done.returncode == 1
    assert "select #1 cap 2 image_prefix='coco/': matches no record" in done.stderr
    assert not (tmp_path / "new.json").exists() and not (tmp_path / "new.json.part").exists()
