"""The LLaVA family on one tree: the groups ``llava-1.5`` and ``sharegpt4v`` name exactly the sources their mixes
read, each prepares offline from the sample with every record verified, one root serves all three mixes without a
second copy of any image, and the OCR-VQA crawl fetches the keys of every mix under the root."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from llavamix.catalog import load_catalog
from llavamix.foundation.layout import MIX_JSON
from tests.httpserver import LoopbackServer
from tests.prepare.conftest import SAMPLE_DIR, http_catalog, run_cli

MIXES = {  # group -> its instruction mix source and where the JSON lands under the root
    "finetune": ("mix1m", MIX_JSON.as_posix()),
    "llava-1.5": ("llava-1.5-json", "llava_v1_5_mix665k.json"),
    "sharegpt4v": ("sharegpt4v-json", "sharegpt4v/sharegpt4v_mix665k_cap23k_coco-ap9k_lcs3k_sam9k_div2k.json"),
}


def sample_records(source: str) -> list[dict]:
    catalog = load_catalog("sample")
    src = catalog[source]
    return json.loads((SAMPLE_DIR / src.name / src.file_name).read_text())


def sources_read_by(records: list[dict], catalog_name: str) -> set[str]:
    """The sources whose folders the records' image paths fall in (the longest image prefix wins; a folder the
    catalog knows under two spellings counts as the source that lays it out)."""
    catalog = load_catalog(catalog_name)
    owners = catalog.prefix_sources
    for a, b in catalog.spellings:
        owners.update({p.replace(b, a, 1): s for p, s in list(owners.items()) if p.startswith(b + "/")})
        owners.update({p.replace(a, b, 1): s for p, s in list(owners.items()) if p.startswith(a + "/")})
    found = set()
    for record in records:
        if "image" not in record:
            continue
        prefixes = [p for p in owners if record["image"].startswith(p + "/")]
        assert prefixes, f"no source provides {record['image']}"
        found.add(owners[max(prefixes, key=len)])
    return found


@pytest.mark.parametrize("catalog_name", ["default", "sample"])
@pytest.mark.parametrize("group", list(MIXES))
def test_each_group_names_its_mix_and_exactly_the_sources_its_images_need(group: str, catalog_name: str) -> None:
    source, _ = MIXES[group]
    needed = sources_read_by(sample_records(source), catalog_name) | {source}
    assert set(load_catalog(catalog_name).groups[group]) == needed, group


def test_the_miniatures_have_text_only_rows_and_ids_of_both_types() -> None:
    for group in ("llava-1.5", "sharegpt4v"):
        records = sample_records(MIXES[group][0])
        assert any("image" not in r for r in records), group
        assert {type(r["id"]) for r in records} == {int, str}, group
        assert any(r["conversations"][0]["value"].endswith("<image>") for r in records if "image" in r), group


def test_one_root_serves_all_three_mixes_each_verified_and_no_image_twice(tmp_path: Path) -> None:
    root = tmp_path / "data"
    for group in ("llava-1.5", "sharegpt4v", "finetune"):
        proc = run_cli("prepare", group, "--catalog", "sample", "--root", root, check=True)
        out = " ".join(proc.stdout.split())
        records = len(sample_records(MIXES[group][0]))
        assert f"all {records} records ok" in out, out
        assert (root / MIXES[group][1]).is_file()
    shared = run_cli("prepare", "sharegpt4v", "--catalog", "sample", "--root", root, check=True)
    assert "to download: 0 B" in shared.stdout
    summary = shared.stdout.split(f"prepare {root}", 1)[1]
    assert "│ done " not in summary and "already done" in summary, "nothing is redone"
    images = [p for p in root.rglob("*") if p.is_file() and p.suffix in (".jpg", ".png") and ".llavamix" not in p.parts]
    names = [p.relative_to(root).as_posix() for p in images]
    assert len(names) == len(set(names))
    used = {r["image"] for g in MIXES for r in sample_records(MIXES[g][0]) if "image" in r}
    assert all((root / image).is_file() for image in used)


def ocr_keys(records: list[dict]) -> set[str]:
    return {Path(r["image"]).stem for r in records if r.get("image", "").startswith("ocr_vqa/images/")}


def catalog_with_mixes(tmp: Path, server: LoopbackServer, mixes: dict[str, list[dict]]) -> Path:
    """The sample catalog over ``server``, its mix sources replaced by the given records (served by the test)."""
    # without the OCR-VQA mirror: these tests count the keys the crawl fetches for each mix
    text = re.sub(r"^mirror = .*\n", "", http_catalog(tmp, server).read_text(), flags=re.MULTILINE)
    head, *tables = text.split("[[source]]")
    out = []
    for table in tables:
        name = table.split('name = "', 1)[1].split('"', 1)[0]
        if name in mixes:
            body = json.dumps(mixes[name]).encode()
            path = f"/own/{name}.json"
            server.add(path, body)
            lines = [line for line in table.splitlines() if not line.startswith(("url", "size", "sha256"))]
            filename = json.loads(table.split("url = ", 1)[1].splitlines()[0]).rsplit("/", 1)[1]
            table = "\n".join([*lines, f'url = "{server.base}{path}"', f'filename = "{filename}"', ""])
        out.append(table)
    catalog = tmp / "own-mixes.toml"
    catalog.write_text("[[source]]".join([head, *out]))
    return catalog


def ocr_requests(server: LoopbackServer) -> set[str]:
    return {Path(r.path).stem for r in server.requests if r.path.startswith("/ocr_vqa/images/")}


def test_the_crawl_fetches_the_keys_of_every_mix_and_again_for_a_mix_laid_out_later(
    tmp_path: Path, sample_server: LoopbackServer
) -> None:
    full = sample_records("mix1m")
    keys = sorted(ocr_keys(full))
    assert len(keys) == 3

    def only(key: str) -> list[dict]:
        return [r for r in full if "image" not in r or r["image"] == f"ocr_vqa/images/{key}.jpg"]

    mixes = {"llava-1.5-json": only(keys[0]), "sharegpt4v-json": only(keys[1]), "mix1m": only(keys[2])}
    catalog = catalog_with_mixes(tmp_path, sample_server, mixes)
    root = tmp_path / "data"
    first = run_cli("prepare", "llava-1.5-json", "sharegpt4v-json", "ocr_vqa", "--catalog", catalog, "--root", root)
    assert first.returncode == 0, first.stderr
    assert ocr_requests(sample_server) == {keys[0], keys[1]}, "the union of both mixes' keys, nothing more"
    assert "2 images wanted, 2 fetched" in " ".join(first.stdout.split())
    sample_server.requests.clear()
    alone = run_cli("prepare", "mix1m", "--catalog", catalog, "--root", root)  # a mix laid out on its own
    assert alone.returncode == 3 and "missing: " in alone.stdout, "its OCR-VQA image is not there yet"
    later = run_cli("prepare", "ocr_vqa", "--catalog", catalog, "--root", root, check=True)
    assert ocr_requests(sample_server) == {keys[2]}, "the new mix's key only"
    assert "3 images wanted, 1 fetched, 2 already there" in " ".join(later.stdout.split())
    sample_server.requests.clear()
    run_cli("prepare", "ocr_vqa", "--catalog", catalog, "--root", root, check=True)
    assert ocr_requests(sample_server) == set(), "every mix served: nothing to crawl"


def test_a_mix_laid_out_again_in_the_same_run_makes_the_crawl_run_after_it(
    tmp_path: Path, sample_server: LoopbackServer
) -> None:
    full = sample_records("mix1m")
    keys = sorted(ocr_keys(full))
    mine = [r for r in full if "image" not in r or r["image"] == f"ocr_vqa/images/{keys[0]}.jpg"]
    catalog = catalog_with_mixes(tmp_path, sample_server, {"llava-1.5-json": mine})
    root = tmp_path / "data"
    run_cli("prepare", "llava-1.5-json", "ocr_vqa", "--catalog", catalog, "--root", root, check=True)
    (root / ".llavamix" / "done" / "llava-1.5-json.extract").unlink()  # the mix is not laid out any more
    (root / "llava_v1_5_mix665k.json").unlink()
    newer = [r for r in full if "image" not in r or r["image"] == f"ocr_vqa/images/{keys[1]}.jpg"]
    sample_server.add("/own/llava-1.5-json.json", json.dumps(newer).encode())  # a new version on the server
    (root / ".llavamix" / "downloads" / "llava-1.5-json").rename(tmp_path / "old-download")
    sample_server.requests.clear()
    run_cli("prepare", "llava-1.5-json", "ocr_vqa", "--catalog", catalog, "--root", root, check=True)
    assert ocr_requests(sample_server) == {keys[1]}, "the crawl waited for the new mix and fetched its key"


def test_sources_shows_each_sources_groups_and_its_json_every_catalog_field(tmp_path: Path) -> None:
    proc = run_cli("sources", "--catalog", "sample", "--root", tmp_path, check=True)
    coco_row = next(line for line in proc.stdout.splitlines() if "│ coco " in line)
    assert "finetune, llava-1.5, sharegpt4v" in coco_row
    listed = {
        r["name"]: r for r in json.loads(run_cli("sources", "--catalog", "sample", "--root", tmp_path, "--json").stdout)
    }
    catalog = load_catalog("sample")
    for src in catalog.sources:
        row = listed[src.name]
        assert (row["url"], row["groups"], row["size"], row["target"]) == (src.url, src.groups, src.size, src.into)
        assert row["checksum"] == f"sha256:{src.sha256}"
        assert row["needs_one_of"] == src.needs_one_of and row["kind"] == src.kind
