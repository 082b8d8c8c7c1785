"""The plan made before every prepare: sizes asked of each server (the catalog's figure when the server cannot
tell, a disagreement noted), the peak disk use over the run's order with and without kept archives, and the
refusal before any download when the disk is too small."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from llavamix.catalog import load_catalog
from llavamix.plan import Disk, RunPlan, SourcePlan, peak_use
from llavamix.prepare import PrepareOptions, plan_prepare, prepare
from tests.fs import SmallDisk
from tests.httpserver import Fault, LoopbackServer
from tests.prepare.archives import archives_catalog
from tests.prepare.conftest import SAMPLE_DIR, http_catalog, run_cli

KIB = 1 << 10
MIB = 1 << 20


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer() as srv:
        yield srv


def by_name(plan: RunPlan) -> dict[str, SourcePlan]:
    return {p.name: p for p in plan.sources}


def test_sizes_come_from_the_servers_head_answers(tmp_path: Path, sample_server: LoopbackServer) -> None:
    catalog = load_catalog(http_catalog(tmp_path, sample_server))
    plan = plan_prepare(catalog, ["llava-1.5"], tmp_path / "data")
    for src in catalog.sources:
        if src.name in catalog.groups["llava-1.5"]:
            assert by_name(plan)[src.name].download == (SAMPLE_DIR / src.name / src.file_name).stat().st_size
            assert by_name(plan)[src.name].download_from == "server (HEAD)"
    heads = {r.path for r in sample_server.requests if r.method == "HEAD"}
    assert len(heads) == len(catalog.groups["llava-1.5"])
    assert not [r for r in sample_server.requests if r.method == "GET"], "a plan downloads nothing"
    assert not (tmp_path / "data").exists(), "nor writes anything"
    assert plan.to_download == sum(p.download or 0 for p in plan.sources)


def test_a_server_refusing_head_is_asked_for_one_byte(tmp_path: Path, server: LoopbackServer) -> None:
    catalog = load_catalog(archives_catalog(tmp_path, server, ["a"], size=64 * KIB))
    server.refuse_head("/a.zip")
    planned = by_name(plan_prepare(catalog, [], tmp_path / "data"))["a"]
    assert (planned.download, planned.download_from) == (catalog["a"].size, "server (Range)")
    (ranged,) = server.gets("/a.zip")
    assert ranged.headers["Range"] == "bytes=0-0" and ranged.sent <= 1


def test_the_catalog_answers_when_the_server_will_not_tell(tmp_path: Path, server: LoopbackServer) -> None:
    catalog = load_catalog(archives_catalog(tmp_path, server, ["a"], size=64 * KIB))
    server.refuse_head("/a.zip", 403)
    server.fault("/a.zip", Fault(status=403, repeat=True))
    planned = by_name(plan_prepare(catalog, [], tmp_path / "data"))["a"]
    assert (planned.download, planned.download_from) == (catalog["a"].size, "catalog")
    assert "the server did not tell: HEAD answered 403, GET 403" in planned.note


def test_a_server_disagreeing_with_the_catalog_is_noted(tmp_path: Path, server: LoopbackServer) -> None:
    path = archives_catalog(tmp_path, server, ["a"], size=64 * KIB)
    text = re.sub(r"size = \d+", "size = 12345", path.read_text())
    path.write_text(re.sub(r'sha256 = "[0-9a-f]+"\n', "", text))
    planned = by_name(plan_prepare(load_catalog(path), [], tmp_path / "data"))["a"]
    assert planned.download == len(server.entries["/a.zip"].data or b"")
    assert "the catalog 12,345: the download will fail" in planned.note


def plans(*sizes: tuple[int, int], moves: bool = False) -> list[SourcePlan]:
    """Sources to do, each (download bytes, bytes it lays out)."""
    return [SourcePlan(f"s{i}", "to do", d, "server", 0, e, "estimate", moves) for i, (d, e) in enumerate(sizes)]


@pytest.mark.parametrize(
    ("sizes", "keep", "peak"),
    [
        ([(10, 10), (20, 20)], False, 10 + 20 + 20),  # the second while the first's data stays: 10 + 20 + 20
        ([(20, 20), (10, 10)], False, 20 + 20),  # big first: its archive and data at once is the most
        ([(10, 10), (20, 20)], True, 10 + 10 + 20 + 20),  # kept archives pile up
        ([(30, 5), (5, 30)], False, 5 + 5 + 30),  # the first's data stays while the second expands
        ([(30, 5), (5, 30)], True, 30 + 5 + 5 + 30),
    ],
)
def test_the_peak_follows_the_run_order_and_kept_archives(sizes, keep: bool, peak: int) -> None:
    assert peak_use(plans(*sizes), same=True, keep=keep)[0] == peak


def test_on_two_filesystems_each_gets_its_own_peak() -> None:
    two = peak_use(plans((10, 12), (20, 25)), same=False, keep=False)
    assert two == (20, 12 + 25), "downloads: one archive at a time; root: all the data"
    assert peak_use(plans((7, 7), moves=True), same=True, keep=False)[0] == 7, "renamed into place, never copied"
    assert peak_use(plans((7, 7), moves=True), same=True, keep=True)[0] == 14, "kept: copied"


def test_a_plan_that_does_not_fit_names_what_is_short_and_what_fits() -> None:
    plan = RunPlan(plans((10, 10), (20, 20)), [Disk(Path("/d"), free=40, peak=50, peak_keep=60)], False, ["s0"])
    assert not plan.fits
    assert "/d lacks 10 B. What fits: s0." in plan.shortfall()
    assert RunPlan(plan.sources, [Disk(Path("/d"), 50, 50, 60)], False).fits
    assert not RunPlan(plan.sources, [Disk(Path("/d"), 50, 50, 60)], True).fits


def test_a_root_too_small_stops_prepare_before_any_download(
    tmp_path: Path, server: LoopbackServer, small_disk: SmallDisk
) -> None:
    root = small_disk("1536k") / "data"
    catalog = archives_catalog(tmp_path, server, ["a", "b"], size=MIB // 2)  # 1 MiB apiece with its data
    proc = run_cli("prepare", "--catalog", catalog, "--root", root)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    said = " ".join(proc.stderr.split())
    assert re.search(r"the run's peak disk use does not fit: .*/data/\.llavamix/downloads lacks [\d.]+ KiB", said)
    assert "What fits: a." in said and "--no-space-check runs anyway" in said
    assert not server.gets("/a.zip") and not server.gets("/b.zip"), "nothing was downloaded"
    planned = run_cli("prepare", "--plan", "--catalog", catalog, "--root", root)
    assert planned.returncode == 0 and "the run's peak disk use does not fit" in " ".join(planned.stdout.split())


def test_no_space_check_runs_anyway(tmp_path: Path, server: LoopbackServer, small_disk: SmallDisk) -> None:
    root = small_disk("1536k") / "data"
    path = archives_catalog(tmp_path, server, ["a"], size=256 * KIB)
    text = path.read_text().replace('archive = "zip"', 'archive = "zip"\napprox_extracted = 4000000')
    path.write_text(text)  # the catalog overestimates what it lays out: the plan says it cannot fit
    refused = run_cli("prepare", "--catalog", path, "--root", root)
    assert refused.returncode == 1 and "does not fit" in refused.stderr
    ran = run_cli("prepare", "--no-space-check", "--catalog", path, "--root", root)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert (root / "a").is_dir()


def test_sources_shows_approximate_sizes_and_group_totals(tmp_path: Path) -> None:
    proc = run_cli("sources", "--root", tmp_path, check=True)
    assert "≈25.5 GiB" in proc.stdout, "llava-pretrain-images, 27.4 GB as published"
    assert re.search(r"pretrain: ≈25\.7 GiB to download", proc.stdout)
    assert re.search(r"llava-1\.5: ≈[\d.]+ GiB to download, not counting llava-1\.5-json, ocr_vqa", proc.stdout)
    listed = json.loads(run_cli("sources", "--root", tmp_path, "--json", check=True).stdout)
    assert next(r for r in listed if r["name"] == "vqa_collection")["approx_size"] == 30_200_000_000


def test_the_plan_leads_every_prepare(tmp_path: Path) -> None:
    proc = run_cli("prepare", "coco", "--catalog", "sample", "--root", tmp_path / "data", check=True)
    first = proc.stdout.index("plan")
    assert first < proc.stdout.index(f"prepare {tmp_path / 'data'}")
    assert "to download: 5.9 KiB" in proc.stdout
    report = prepare(load_catalog("sample"), ["coco"], tmp_path / "data", PrepareOptions(verify=False))
    assert [s.status for s in report.sources] == ["skipped"]


def test_an_unreachable_server_is_named_in_a_short_note(tmp_path: Path) -> None:
    catalog = tmp_path / "c.toml"
    catalog.write_text(
        '[[source]]\nname = "a"\nurl = "http://127.0.0.1:9/a.zip"\napprox_size = 5000\narchive = "zip"\ninto = "a"\n'
    )
    planned = by_name(plan_prepare(load_catalog(catalog), [], tmp_path / "data"))["a"]
    assert (planned.download, planned.download_from) == (5000, "approximate")
    assert planned.note == "the server did not tell: cannot connect to 127.0.0.1"


def test_the_plan_counts_a_source_done_as_the_run_does(tmp_path: Path) -> None:
    """A mix of the run to be laid out again makes the crawl that reads it run again, in the plan as in prepare."""
    catalog, root, names = load_catalog("sample"), tmp_path / "data", ["llava-1.5-json", "ocr_vqa"]
    prepare(catalog, names, root, PrepareOptions(verify=False))
    assert {p.state for p in plan_prepare(catalog, names, root).sources} == {"done"}
    (root / ".llavamix" / "done" / "llava-1.5-json.extract").unlink()
    states = {p.name: p.state for p in plan_prepare(catalog, names, root).sources}
    assert states["ocr_vqa"] != "done" and states["llava-1.5-json"] != "done"
