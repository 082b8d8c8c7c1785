"""Recipe semantics on small mixes: exact counts, determinism, dedup, filters, path rewriting, provenance."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llavamix.foundation.records import iter_windows
from llavamix.mix import build_mix, load_recipe
from llavamix.mix.build import BuildOptions
from tests.mix.builds import build, image_bytes, provenance, put_image, recipe, record, write_json, write_jsonl

A = '[[input]]\nname = "a"\npath = "a.json"\nroot = "data"\n'
RED, BLUE = image_bytes((64, 48), (200, 10, 10)), image_bytes((64, 48), (10, 10, 200))


def mix_a(folder: Path, n: int = 40) -> list[dict[str, Any]]:
    """``n`` records: every 4th text-only, the others alternate coco/ and gqa/ images."""
    recs = [
        record(i, None if i % 4 == 0 else f"{'coco' if i % 2 else 'gqa/images'}/img{i}.png", f"question number {i}")
        for i in range(n)
    ]
    write_json(folder / "a.json", recs)
    return recs


def raw_records(path: Path) -> list[bytes]:
    return [bytes(r) for w in iter_windows(path) for r in w.raws]


def test_cap_and_weight_give_exact_counts_with_a_seed(tmp_path: Path) -> None:
    mix_a(tmp_path)
    text = A + (
        '[[select]]\nimage_prefix = "coco/"\naction = "cap"\ncount = 7\n'
        '[[select]]\nimage_prefix = "gqa/"\naction = "weight"\ncount = 25\n'
        '[[select]]\ntext_only = true\naction = "weight"\nfraction = 0.5\n'
    )
    report, out = build(tmp_path, "seed = 5\n" + text)
    kinds = Counter(r.get("image", "text/")[:4] for r in out)
    assert kinds == {"coco": 7, "gqa/": 25, "text": 5}
    assert [s.out for s in report.selects] == [7, 25, 5, 0]
    gqa = Counter(r["id"] for r in out if r.get("image", "").startswith("gqa/"))
    assert sorted(gqa.values()) == [2] * 5 + [3] * 5  # 25 of 10 records: each twice, 5 of them three times
    other, _ = build(tmp_path, "seed = 6\n" + text, out="out/other.json")
    assert other.records == report.records
    assert (tmp_path / "out/other.json").read_bytes() != (tmp_path / "out/new.json").read_bytes()


def test_same_recipe_and_inputs_give_byte_identical_outputs(tmp_path: Path) -> None:
    mix_a(tmp_path)
    text = A + '[[select]]\nimage_prefix = "coco/"\naction = "cap"\ncount = 4\n[dedup]\nby = ["text"]\n'
    build(tmp_path, text, out="one/new.json")
    build(tmp_path, text, out="two/new.json")
    for name in ("new.json", "new.manifest.json", "new.provenance.jsonl"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


@pytest.mark.parametrize("jobs", [1, 3])
def test_the_first_pass_in_several_processes_gives_the_same_output(
    tmp_path: Path, jobs: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("llavamix.mix.plan.DESCRIBE_BATCH", 4)  # many batches, several in flight at once
    for name, data in (("coco/red.png", RED), ("coco/blue.png", BLUE), ("gqa/images/red.png", RED)):
        put_image(tmp_path / "data", name, data)
    images = ["coco/red.png", "coco/blue.png", "gqa/images/red.png", None]
    write_json(tmp_path / "a.json", [record(i, images[i % 4], f"question {i % 7}") for i in range(60)])
    text = A + '[[select]]\nimage_prefix = "coco/"\naction = "cap"\ncount = 4\n[dedup]\nby = ["text", "image_bytes"]\n'
    loaded = load_recipe(recipe(tmp_path, text))
    build_mix(loaded, tmp_path / "one/new.json", BuildOptions(jobs=1))
    report = build_mix(loaded, tmp_path / "many/new.json", BuildOptions(jobs=jobs))
    assert report.duplicates["text"] and report.duplicates["image_bytes"] and report.records
    for name in ("new.json", "new.manifest.json", "new.provenance.jsonl"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "many" / name).read_bytes()


def test_output_records_keep_their_input_bytes_and_provenance_says_where_each_came_from(tmp_path: Path) -> None:
    mix_a(tmp_path, 12)
    write_jsonl(tmp_path / "b.jsonl", [record(f"b{i}", None, f"extra {i}") for i in range(3)])
    text = A + '[[input]]\nname = "b"\npath = "b.jsonl"\n[[select]]\ninput = "b"\naction = "weight"\ncount = 5\n'
    report, out = build(tmp_path, text)
    sources = {"a": raw_records(tmp_path / "a.json"), "b": (tmp_path / "b.jsonl").read_bytes().splitlines()}
    written = raw_records(report.out)
    assert len(written) == len(out) == report.records == 17
    assert [sources[name][i] for name, i in provenance(report)] == written
    manifest = json.loads(report.manifest.read_bytes())
    assert manifest["recipe_sha256"] == report.recipe_sha256
    assert [(i["name"], i["records"], i["out"]) for i in manifest["inputs"]] == [("a", 12, 12), ("b", 3, 5)]
    assert manifest["inputs"][0]["size"] == (tmp_path / "a.json").stat().st_size
    assert len(manifest["inputs"][1]["sha256"]) == 64


def test_dedup_by_id_keeps_the_first_occurrence(tmp_path: Path) -> None:
    write_json(tmp_path / "a.json", [record(1, None, "x"), record("1", None, "y"), record(1, None, "z")])
    report, out = build(tmp_path, A + '[dedup]\nby = ["id"]\n')
    assert [r["conversations"][0]["value"] for r in out] == ["x", "y"]  # 1 and "1" are different ids
    assert report.duplicates == {"id": 1}


def test_dedup_by_text_normalises_case_whitespace_and_image_token(tmp_path: Path) -> None:
    recs = [record(0, "coco/a.png", "What  is it?"), record(1, None, "what is\nit?"), record(2, None, "What is that?")]
    write_json(tmp_path / "a.json", recs)
    _, out = build(tmp_path, A + '[dedup]\nby = ["text"]\n')
    assert [r["id"] for r in out] == [0, 2]


def test_dedup_by_image_bytes_reads_the_files(tmp_path: Path) -> None:
    for name, data in (("coco/1.png", RED), ("coco/2.png", RED), ("coco/3.png", BLUE)):
        put_image(tmp_path / "data", name, data)
    recs = [record(i, f"coco/{i}.png", f"q{i}") for i in (1, 2, 3)] + [record(4, "coco/missing.png", "q4")]
    write_json(tmp_path / "a.json", recs)
    report, out = build(tmp_path, A + '[dedup]\nby = ["image_bytes"]\n')
    assert [r["id"] for r in out] == [1, 3, 4]  # an unreadable image is no duplicate of anything
    assert report.unreadable_images == 1


def test_dedup_by_phash_finds_near_duplicates(tmp_path: Path) -> None:
    pytest.importorskip("imagehash")
    from PIL import Image

    rng = random.Random(0)
    noise = [Image.frombytes("L", (8, 8), rng.randbytes(64)).resize((128, 128)).convert("RGB") for _ in range(2)]
    (tmp_path / "data").mkdir()
    noise[0].save(tmp_path / "data" / "a.png")
    noise[0].save(tmp_path / "data" / "a.jpg", quality=85)  # other bytes, the same picture
    noise[1].save(tmp_path / "data" / "b.png")
    write_json(tmp_path / "a.json", [record(i, name, f"q{i}") for i, name in enumerate(["a.png", "a.jpg", "b.png"])])
    _, by_bytes = build(tmp_path, A + '[dedup]\nby = ["image_bytes"]\n')
    _, by_phash = build(tmp_path, A + '[dedup]\nby = ["phash"]\nphash_distance = 4\n', out="out/p.json")
    assert [r["id"] for r in by_bytes] == [0, 1, 2]
    assert [r["id"] for r in by_phash] == [0, 2]


def test_filters_length_tokens_and_image(tmp_path: Path) -> None:
    put_image(tmp_path / "data", "coco/small.png", image_bytes((336, 336), (1, 2, 3)))
    recs = [
        record(0, None, "one two"),
        record(1, None, "word " * 50),
        record(2, "coco/small.png", "hi"),
        record(3, "coco/none.png", "hi"),
    ]
    write_json(tmp_path / "a.json", recs)
    _, out = build(tmp_path, A + "[filter]\nmax_length = 20\n")
    assert [r["id"] for r in out] == [0]  # an image record counts +128
    _, out = build(tmp_path, A + "[filter]\nhas_image = false\n")
    assert [r["id"] for r in out] == [0, 1]
    report, out = build(tmp_path, A + "[filter]\nmin_tokens = 600\nmax_tokens = 2000\n")
    # 336x336 is one tile: 576 global + 576 grid + 24 newlines; text-only records have too few tokens
    assert [r["id"] for r in out] == [2]
    assert report.filtered == {"tokens": 2, "tokens_unknown": 1}


def test_verify_clean_filter_uses_a_real_verify_report(tmp_path: Path) -> None:
    put_image(tmp_path / "data", "coco/ok.png", RED)
    recs = [
        record(0, "coco/ok.png", "fine"),
        record(1, "coco/gone.png", "missing image"),
        {"id": 2, "conversations": [{"from": "human", "value": "hi"}, {"from": "robot", "value": "x"}]},
        record(3, None, "fine too"),
    ]
    write_json(tmp_path / "a.json", recs)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "llavamix",
            "verify",
            str(tmp_path / "a.json"),
            "--root",
            str(tmp_path / "data"),
            "--report",
            str(tmp_path / "v.json"),
            "--jobs",
            "1",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 3, done.stderr
    report, out = build(tmp_path, A + '[filter]\nverify_report = "v.json"\n')
    assert [r["id"] for r in out] == [0, 3]
    assert report.filtered == {"verify_error": 2}


def test_image_prefix_rewrites_paths_so_two_inputs_resolve_under_one_root(tmp_path: Path) -> None:
    put_image(tmp_path / "data", "coco/1.png", RED)
    put_image(tmp_path / "mine", "pics/2.png", BLUE)
    (tmp_path / "data" / "mine").symlink_to(tmp_path / "mine")  # the user links their folder under the root
    write_json(tmp_path / "a.json", [record(1, "coco/1.png", "q")])
    write_json(tmp_path / "b.json", [record(2, "pics/2.png", "q2")], indent=None)
    text = (
        A + '[[input]]\nname = "b"\npath = "b.json"\nroot = "mine"\nimage_prefix = "mine/"\n'
        '[[select]]\ninput = "b"\nimage_prefix = "pics/"\naction = "keep"\n'
    )
    report, out = build(tmp_path, text)
    assert [r["image"] for r in out] == ["coco/1.png", "mine/pics/2.png"]
    conversations = json.dumps(record(2, "pics/2.png", "q2")["conversations"]).encode()
    assert b'"conversations":' + conversations in raw_records(report.out)[1]  # values keep their bytes
    done = subprocess.run(
        [sys.executable, "-m", "llavamix", "verify", str(report.out), "--root", str(tmp_path / "data"), "--jobs", "1"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_selects_by_catalog_source_and_id_pattern(tmp_path: Path) -> None:
    mix_a(tmp_path, 20)
    text = A + ('[[select]]\nsource = "gqa"\naction = "drop"\n[[select]]\nid_pattern = "1[0-9]"\naction = "drop"\n')
    report, out = build(tmp_path, text)
    assert all(not r.get("image", "").startswith("gqa/") for r in out)
    assert all(not 10 <= r["id"] <= 19 for r in out)
    assert [s.matched for s in report.selects] == [5, 7, 8]  # first match wins


SIZES = st.lists(st.integers(0, 30), min_size=1, max_size=3)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(n=st.integers(1, 40), caps=SIZES, seed=st.integers(0, 2**32))
def test_every_output_record_is_an_input_record_and_counts_stay_within_the_recipe(
    tmp_path: Path, n: int, caps: list[int], seed: int
) -> None:
    mix_a(tmp_path, n)
    selects = "".join(
        f'[[select]]\nid_pattern = "\\\\d*{k}"\naction = "cap"\ncount = {c}\n' for k, c in enumerate(caps)
    )
    try:
        report, out = build(tmp_path, f"seed = {seed}\n" + A + selects)
    except Exception as exc:  # noqa: BLE001 - a select matching nothing is a recipe error, checked elsewhere
        assert "matches no record" in str(exc)
        return
    inputs = {bytes(r) for r in raw_records(tmp_path / "a.json")}
    assert set(raw_records(report.out)) <= inputs
    for sel, cap in zip(report.selects, caps, strict=False):
        assert sel.out == min(cap, sel.after_dedup) and sel.out <= cap
    assert len(out) == report.records == len(set(msgspec.json.encode(r) for r in out))
