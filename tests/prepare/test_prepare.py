"""``prepare`` end to end on the embedded sample: file:// and loopback HTTP, twice, status and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llavamix.catalog import load_catalog
from llavamix.foundation.layout import MIX_JSON
from llavamix.prepare import PrepareOptions, prepare, source_status
from tests.httpserver import Fault, LoopbackServer
from tests.prepare.conftest import http_catalog, run_cli, tree_digest

SAMPLE_SOURCES = [
    "mix1m",
    "llava-pretrain-json",
    "llava-pretrain-images",
    "coco",
    "gqa",
    "textvqa",
    "vg1",
    "vg2",
    "vqa_collection",
    "allava_vflan",
    "sam",
    "web-celebrity",
    "web-landmark",
    "wikiart",
    "share_textvqa",
    "ocr_vqa",
]


def test_sample_prepare_lays_out_the_training_tree(tmp_path: Path) -> None:
    root = tmp_path / "data"
    report = prepare(load_catalog("sample"), SAMPLE_SOURCES, root, PrepareOptions(jobs=2, verify=False))
    assert not report.failed
    assert {s.status for s in report.sources} == {"done"}
    for folder in (
        "coco/train2017",
        "gqa/images",
        "textvqa/train_images",
        "vg/VG_100K",
        "vg/VG_100K_2",
        "llava/llava_pretrain/images/00000",
        "allava_vflan/images/images_191task_1k",
        "ai2d/images",
        "chatqa/train/png",
        "docvqa/train/documents",
        "dvqa/images",
        "geoqa+/images",
        "synthdog-en/images",
        "sam/images",
        "web-celebrity/images",
        "web-landmark/images",
        "wikiart/images",
        "share_textvqa/images",
        "ocr_vqa/images",
    ):
        assert any((root / folder).iterdir()), folder
    assert (root / "chartqa").resolve() == (root / "chatqa").resolve(), "the mix says chartqa/"
    assert report.add_path is not None and (root / report.add_path.path).is_file()
    crawl = report.crawls["ocr_vqa"]
    assert (crawl.keys, crawl.dead, crawl.dead_records) == (3, {}, 0), "the crawl waited for the mix: its keys only"
    assert sorted(p.name for p in (root / "ocr_vqa" / "images").iterdir()) == [
        "080522393X.jpg",
        "1570761280.jpg",
        "B00008RWPV.jpg",
    ]
    assert (root / MIX_JSON).is_file()
    assert (root / "llava-next" / MIX_JSON.name).read_bytes() == (root / MIX_JSON).read_bytes()
    assert not list(root.rglob("*.part"))
    # archives are deleted after a verified extraction
    downloads = root / ".llavamix" / "downloads"
    assert not [p for p in downloads.rglob("*") if p.is_file() and p != downloads / ".llavamix.lock"]


def test_second_run_does_no_work(tmp_path: Path, sample_server: LoopbackServer) -> None:
    catalog = load_catalog(http_catalog(tmp_path, sample_server))
    root = tmp_path / "data"
    first = prepare(catalog, SAMPLE_SOURCES, root, PrepareOptions(jobs=3, verify=False))
    assert not first.failed
    before, served = tree_digest(root), len(sample_server.requests)
    second = prepare(catalog, SAMPLE_SOURCES, root, PrepareOptions(jobs=3, verify=False))
    assert {s.status for s in second.sources} == {"skipped"}
    assert len(sample_server.requests) == served
    assert tree_digest(root) == before


def test_http_and_file_give_the_same_tree(tmp_path: Path, sample_server: LoopbackServer) -> None:
    via_file, via_http = tmp_path / "a", tmp_path / "b"
    prepare(load_catalog("sample"), SAMPLE_SOURCES, via_file, PrepareOptions(verify=False))
    prepare(load_catalog(http_catalog(tmp_path, sample_server)), SAMPLE_SOURCES, via_http, PrepareOptions(verify=False))
    assert tree_digest(via_file) == tree_digest(via_http)


def test_failed_source_is_named_and_others_complete(tmp_path: Path, sample_server: LoopbackServer) -> None:
    sample_server.fault("/coco/train2017.zip", Fault(status=404, repeat=True))
    catalog = load_catalog(http_catalog(tmp_path, sample_server))
    root = tmp_path / "data"
    proc = run_cli("prepare", "coco", "gqa", "--catalog", catalog.path, "--root", root)
    assert proc.returncode == 3, proc.stderr
    assert "coco" in proc.stderr and "404" in proc.stderr
    assert (root / "gqa" / "images").is_dir()
    states = {s.source.name: s.state for s in source_status(catalog, root)}
    assert states["gqa"] == "present" and states["coco"] == "missing"


def test_status_and_sources_json(tmp_path: Path) -> None:
    root = tmp_path / "data"
    prepare(load_catalog("sample"), ["coco"], root, PrepareOptions(verify=False))
    proc = run_cli("status", "--catalog", "sample", "--root", root, "--json", check=True)
    rows = {r["name"]: r for r in json.loads(proc.stdout)}
    assert rows["coco"]["state"] == "present"
    assert rows["coco"]["images"] == rows["coco"]["images_expected"]
    assert rows["gqa"]["state"] == "missing"
    listed = json.loads(run_cli("sources", "--catalog", "sample", "--root", root, "--json", check=True).stdout)
    assert [r["name"] for r in listed] == [r["name"] for r in json.loads(proc.stdout)]


def test_unknown_source_is_a_clear_error(tmp_path: Path) -> None:
    proc = run_cli("prepare", "cocoo", "--catalog", "sample", "--root", tmp_path)
    assert proc.returncode == 1
    assert "did you mean 'coco'" in proc.stderr


@pytest.mark.parametrize("missing_image", [False, True])
def test_prepare_cli_verifies_the_mix(tmp_path: Path, missing_image: bool) -> None:
    root = tmp_path / "data"
    proc = run_cli("prepare", "--catalog", "sample", "--root", root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "all 270 records ok" in proc.stdout
    if missing_image:
        victim = next((root / "coco" / "train2017").iterdir())
        victim.unlink()
        proc = run_cli("prepare", "--catalog", "sample", "--root", root)
        assert proc.returncode == 3
        assert "missing" in proc.stdout
    else:
        proc = run_cli("prepare", "--catalog", "sample", "--root", root)
        assert proc.returncode == 0


def test_a_dead_ocr_url_the_mix_needs_is_counted_and_the_way_out_named(
    tmp_path: Path, sample_server: LoopbackServer
) -> None:
    dead_key = "B00008RWPV"  # the key the sample's mirror lacks: crawled, and dead here
    sample_server.fault(f"/ocr_vqa/images/{dead_key}.png", Fault(status=404, repeat=True))
    catalog = http_catalog(tmp_path, sample_server)
    root = tmp_path / "data"
    proc = run_cli("prepare", "finetune", "--catalog", catalog, "--root", root)
    assert proc.returncode == 3, "the records that need the dead image would fail training"
    mix = json.loads((root / MIX_JSON).read_text())
    affected = sum(r.get("image") == f"ocr_vqa/images/{dead_key}.jpg" for r in mix)
    out = " ".join(proc.stdout.split())  # rich wraps long lines
    assert f"{affected} records of the mix need them" in out
    assert f"llavamix verify {root / MIX_JSON} --root {root} --write-clean" in out
    dead = json.loads((root / ".llavamix" / "reports" / "ocr_vqa_dead.json").read_text())
    assert [d["key"] for d in dead["dead"]] == [dead_key]
    assert dead["dead_records"] == affected


@pytest.mark.parametrize("command", ["prepare", "fetch"])
def test_unwritable_root_fails_once_before_any_work(tmp_path: Path, command: str) -> None:
    # /sys refuses new files even to root, so this holds whoever runs the tests
    proc = run_cli(command, "coco", "--catalog", "sample", "--root", "/sys/llavamix-test")
    assert proc.returncode == 1, proc.stderr
    assert "cannot write to the data root" in proc.stderr or "cannot write to the downloads folder" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_fetch_skips_sources_prepare_laid_out(tmp_path: Path, sample_server: LoopbackServer) -> None:
    catalog = http_catalog(tmp_path, sample_server)
    root = tmp_path / "data"
    run_cli("prepare", "coco", "--catalog", catalog, "--root", root, check=True)
    served = len(sample_server.requests)
    proc = run_cli("fetch", "coco", "gqa", "--catalog", catalog, "--root", root, check=True)
    assert "already laid out" in proc.stdout
    assert [r.path for r in sample_server.requests[served:]] == ["/gqa/images.zip"]
    assert not [p for p in (root / ".llavamix" / "downloads" / "coco").rglob("*") if p.is_file()]
