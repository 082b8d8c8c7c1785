"""``prepare`` runs sources in the order their ``needs`` ask for, through the one task loop: OCR-VQA's crawl starts
once the mix JSON is laid out, wherever the catalog lists it; a failed mix leaves the crawl unrun; and preparing
the crawl alone prepares the mix it needs."""

from __future__ import annotations

from pathlib import Path

from llavamix.catalog import load_catalog
from llavamix.prepare import PrepareOptions, prepare
from tests.httpserver import Fault, LoopbackServer
from tests.prepare.conftest import http_catalog, run_cli

MIX = "/mix1m/open-llava-next_instruct_mix1M.json"
INDEX = "/ocr_vqa/dataset.json"
MIX_KEYS = 3  # of the sample's 5 OCR-VQA keys, the mix references 3


def crawl_first(tmp: Path, server: LoopbackServer) -> Path:
    """The sample catalog over ``server`` with the OCR-VQA source listed before everything else."""
    head, *tables = http_catalog(tmp, server).read_text().split("[[source]]")
    ocr = next(t for t in tables if 'name = "ocr_vqa"' in t)
    path = tmp / "crawl-first.toml"
    path.write_text("[[source]]".join([head, ocr, *(t for t in tables if t is not ocr)]))
    return path


def test_the_crawl_waits_for_the_mix_whatever_the_catalog_order(tmp_path: Path, sample_server: LoopbackServer) -> None:
    catalog = load_catalog(crawl_first(tmp_path, sample_server))
    assert catalog.names[0] == "ocr_vqa"
    sample_server.fault(MIX, Fault(trickle=0.02, trickle_chunk=8192))  # the mix takes a while; the crawl must wait
    report = prepare(catalog, [], tmp_path / "data", PrepareOptions(jobs=4, verify=False))
    assert not report.failed
    crawl = report.crawls["ocr_vqa"]
    assert (crawl.keys, crawl.dead, crawl.dead_records) == (MIX_KEYS, {}, 0), "only the keys the mix references"
    paths = [r.path for r in sample_server.requests if r.method == "GET"]
    assert paths.index(MIX) < paths.index(INDEX)


def test_a_failed_mix_leaves_the_crawl_unrun(tmp_path: Path, sample_server: LoopbackServer) -> None:
    sample_server.fault(MIX, Fault(status=404, repeat=True))
    catalog = http_catalog(tmp_path, sample_server)
    proc = run_cli("prepare", "mix1m", "ocr_vqa", "coco", "--catalog", catalog, "--root", tmp_path / "data")
    assert proc.returncode == 3, proc.stderr
    err = " ".join(proc.stderr.split())
    assert "not run: it needs 'mix1m', which failed" in err and "404" in err
    assert not [r for r in sample_server.requests if r.path.startswith("/ocr_vqa/") and r.method == "GET"], "no crawl"
    assert (tmp_path / "data" / "coco" / "train2017").is_dir(), "a source that needs nothing is not held up"


def test_preparing_the_crawl_prepares_the_mix_it_needs(tmp_path: Path, sample_server: LoopbackServer) -> None:
    catalog = load_catalog(http_catalog(tmp_path, sample_server))
    report = prepare(catalog, ["ocr_vqa"], tmp_path / "data", PrepareOptions(jobs=2, verify=False))
    assert [(s.name, s.status) for s in report.sources] == [("mix1m", "done"), ("ocr_vqa", "done")]
    assert report.crawls["ocr_vqa"].keys == MIX_KEYS
