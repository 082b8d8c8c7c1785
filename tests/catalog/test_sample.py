"""The embedded sample mirror: deterministic, fresh, checksummed, laid out like the real downloads, self-consistent."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path, PurePosixPath
from types import ModuleType
from urllib.parse import unquote, urlparse

import pytest
from PIL import Image

import llavamix.catalog
from llavamix.catalog import Catalog, Source, load_catalog
from llavamix.foundation.io import hash_file
from llavamix.foundation.layout import image_prefix
from llavamix.foundation.records import IMAGE_TOKEN, MixFile

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "make_sample.py"
PACKAGE_CATALOG = Path(llavamix.catalog.__file__).parent
# Member names of each real download (DESIGN.md; reference §3); the sample must copy them.
REAL_MEMBERS = {
    "llava-pretrain-images": r"(\d{5})/\1\d{4}\.jpg",
    "coco": r"train2017/\d{12}\.jpg",
    "gqa": r"images/n?\d+\.jpg",
    "textvqa": r"train_images/[0-9a-f]{16}\.jpg",
    "vg1": r"VG_100K/\d+\.jpg",
    "vg2": r"VG_100K_2/\d+\.jpg",
    "vqa_collection": r"ai2d/images/\d+\.png|chatqa/train/png/\w+\.png|docvqa/train/documents/\w+\.png"
    r"|dvqa/images/bar_train_\d{8}\.png|geoqa\+/images/\d+\.png|synthdog-en/images/[\w-]+\.jpg",
    "allava_vflan": r"images_191task_1k/[\w-]+\+[\w-]+\.(jpg|png)",
    "sam": r"sam_images_share-sft/sa_\d+\.jpg",  # layout undocumented: an assumption (see sample.toml)
    "web-celebrity": r"data/web-celebrity/images/[\w-]+\.jpg",
    "web-landmark": r"data/web-landmark/images/[\w-]+\.jpg",
    "wikiart": r"data/wikiart/images/[\w-]+\.jpg",
    "share_textvqa": r"data/share_textvqa/images/[0-9a-f]{16}\.jpg",
}
# The fix-up prepare applies: the JSON says chartqa/, vqa_collection.zip holds chatqa/.
ALIASES = {"chartqa/": "chatqa/"}
MAX_BYTES = 2 * 1024 * 1024


def local_path(src: Source) -> Path:
    return Path(unquote(urlparse(src.url).path))


def tree(folder: Path) -> dict[str, bytes]:
    """``sample.toml`` and every file under ``sample/``, by relative path."""
    files = {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted((folder / "sample").rglob("*")) if p.is_file()
    }
    files["sample.toml"] = (folder / "sample.toml").read_bytes()
    return files


def zip_members(data: bytes) -> list[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.namelist()


def recorded_encoders(toml_text: str) -> str:
    match = re.search(r"^# encoders: (.*)$", toml_text, re.MULTILINE)
    return match.group(1) if match else ""


def zip_images(src: Source) -> dict[str, bytes]:
    with zipfile.ZipFile(local_path(src)) as zf:
        return {i.filename: zf.read(i) for i in zf.infolist() if not i.is_dir()}


def all_image_bytes(sample: Catalog) -> dict[str, bytes]:
    out = {}
    for src in sample.sources:
        if src.archive == "zip":
            out.update({f"{src.name}:{name}": data for name, data in zip_images(src).items()})
    crawled = sample.path.parent / "sample" / "ocr_vqa" / "images"
    out.update({f"ocr_vqa:{p.name}": p.read_bytes() for p in sorted(crawled.iterdir())})
    return out


# --- determinism and freshness ------------------------------------------------------------------------------


def test_generator_is_byte_identical_across_processes(fresh_dir: Path, tmp_path: Path) -> None:
    # another process with another hash seed: nothing may depend on str hashing, dict order or the clock
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path)], check=True, env=env, timeout=120)
    assert tree(tmp_path) == tree(fresh_dir)


def test_generator_replaces_a_previous_sample(make_sample: ModuleType, fresh_dir: Path, tmp_path: Path) -> None:
    stale = tmp_path / "sample" / "coco" / "old.zip"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"stale")
    make_sample.build(tmp_path)
    assert tree(tmp_path) == tree(fresh_dir)


def test_shipped_sample_has_the_files_and_json_a_fresh_generation_has(fresh_dir: Path) -> None:
    shipped, fresh = tree(PACKAGE_CATALOG), tree(fresh_dir)
    hint = "the shipped sample is stale; rerun scripts/make_sample.py"
    assert sorted(shipped) == sorted(fresh), hint
    for name, data in fresh.items():
        if name.endswith(".json"):
            assert shipped[name] == data, f"{name}: {hint}"
        elif name.endswith(".zip"):
            assert zip_members(shipped[name]) == zip_members(data), f"{name}: {hint}"


def test_shipped_sample_is_byte_identical_to_a_fresh_generation(fresh_dir: Path) -> None:
    shipped, fresh = tree(PACKAGE_CATALOG), tree(fresh_dir)
    made_with = recorded_encoders(shipped["sample.toml"].decode())
    here = recorded_encoders(fresh["sample.toml"].decode())
    if made_with != here:
        pytest.skip(f"image bytes depend on the encoders: sample made with {made_with}, this Pillow has {here}")
    stale = sorted(name for name in fresh if shipped.get(name) != fresh[name])
    assert not stale, f"stale sample files {stale}; rerun scripts/make_sample.py"


# --- the sample catalog -------------------------------------------------------------------------------------


def test_sizes_and_checksums_match_the_files(sample: Catalog) -> None:
    for src in sample.sources:
        path = local_path(src)
        assert src.size == path.stat().st_size, src.name
        assert src.checksum == ("sha256", hash_file(path, "sha256")), src.name


def test_sample_mirrors_the_default_catalog(sample: Catalog) -> None:
    default = load_catalog("default")
    assert sample.names == default.names
    assert sample.groups == default.groups
    for mine, real in zip(sample.sources, default.sources, strict=True):
        recipe = ("archive", "into", "strip", "kind", "groups", "file_name", "needs", "image_prefixes", "spellings")
        assert [getattr(mine, k) for k in recipe] == [getattr(real, k) for k in recipe], mine.name


def test_urls_are_relative_file_urls_into_the_package() -> None:
    raw = tomllib.loads((PACKAGE_CATALOG / "sample.toml").read_text(encoding="utf-8"))
    for table in raw["source"]:
        assert table["url"].startswith(f"file:sample/{table['name']}/"), table["name"]
    for src in load_catalog("sample").sources:
        assert local_path(src).is_file()
        assert local_path(src).is_relative_to(PACKAGE_CATALOG / "sample")


def test_image_counts_are_exact(sample: Catalog) -> None:
    for src in sample.sources:
        if src.archive == "zip":
            assert src.images == len(zip_images(src)), src.name


def test_sample_stays_small() -> None:
    total = sum(p.stat().st_size for p in PACKAGE_CATALOG.joinpath("sample").rglob("*") if p.is_file())
    assert total < MAX_BYTES


# --- archive layouts ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(REAL_MEMBERS))
def test_archive_members_copy_the_real_layout(sample: Catalog, name: str) -> None:
    with zipfile.ZipFile(local_path(sample[name])) as zf:
        infos = zf.infolist()
    files = [i.filename for i in infos if not i.is_dir()]
    assert 2 <= len(files) <= 12
    assert [f for f in files if not re.fullmatch(REAL_MEMBERS[name], f)] == []
    assert {i.compress_type for i in infos} == {zipfile.ZIP_STORED}  # as the real image zips
    folders = {i.filename for i in infos if i.is_dir()}
    for f in files:  # each folder has its own entry, as `zip -r` writes them
        assert str(PurePosixPath(f).parent) + "/" in folders


def test_vqa_collection_holds_the_six_folders_at_the_top(sample: Catalog) -> None:
    tops = {PurePosixPath(n).parts[0] for n in zip_images(sample["vqa_collection"])}
    assert tops == {"ai2d", "chatqa", "docvqa", "dvqa", "geoqa+", "synthdog-en"}


def test_images_are_small_real_jpeg_and_png(sample: Catalog) -> None:
    modes = set()
    for name, data in all_image_bytes(sample).items():
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            assert img.format == {".png": "PNG", ".gif": "GIF"}.get(PurePosixPath(name).suffix, "JPEG"), name
            assert min(img.size) >= 24 and max(img.size) <= 96, name
            extrema = img.getextrema()
            bands = extrema if isinstance(extrema[0], tuple) else (extrema,)
            assert any(lo != hi for lo, hi in bands), f"{name} is blank"
            modes.add((img.format, img.mode))
    assert {("PNG", "RGB"), ("PNG", "L"), ("PNG", "RGBA"), ("PNG", "P"), ("GIF", "P"), ("JPEG", "RGB")} <= modes


# --- the sample JSON files ----------------------------------------------------------------------------------


def mix_path(sample: Catalog) -> Path:
    return local_path(sample["mix1m"])


def resolve_alias(image: str) -> str:
    for json_name, real in ALIASES.items():
        if image.startswith(json_name):
            return real + image.removeprefix(json_name)
    return image


def test_every_mix_image_exists_in_the_sample(sample: Catalog, sample_images: set[str]) -> None:
    mix = MixFile(mix_path(sample))
    images = {mix.record(i).image for i in range(len(mix)) if mix.record(i).has_image}
    missing = sorted(str(i) for i in images if resolve_alias(str(i)) not in sample_images)
    assert missing == []
    # and the other way round: no sample image goes unused
    assert {resolve_alias(str(i)) for i in images} == sample_images


def test_mix_covers_every_prefix_and_text_only_rows(sample: Catalog) -> None:
    mix = MixFile(mix_path(sample))
    records = [mix.record(i) for i in range(len(mix))]
    assert 240 <= len(records) <= 300
    known = sample.prefix_sources
    prefixes = {image_prefix(str(r.image), known) for r in records if r.has_image}
    assert prefixes == set(known) - {"chatqa/train/png"}  # the JSON spells it chartqa
    assert any(not r.has_image for r in records)
    assert {type(r.id) for r in records} == {int, str}
    assert len({json.dumps(r.id) for r in records}) == len(records)


def test_mix_records_would_train(sample: Catalog) -> None:
    mix = MixFile(mix_path(sample))
    rounds, token_at_end = set(), 0
    for i in range(len(mix)):
        record = mix.record(i)
        turns = record.conversations
        assert [t.role for t in turns] == ["human", "gpt"] * (len(turns) // 2) and turns, record.id
        assert all(t.value.strip() for t in turns), record.id
        tokens = sum(t.value.count(IMAGE_TOKEN) for t in turns)
        assert tokens == (1 if record.has_image else 0), record.id
        if record.has_image:
            first = turns[0].value
            assert first.startswith(IMAGE_TOKEN + "\n") or first.endswith("\n" + IMAGE_TOKEN), record.id
            token_at_end += first.endswith(IMAGE_TOKEN)
        rounds.add(len(turns) // 2)
    assert rounds == {1, 2, 3, 4}
    assert 0 < token_at_end < len(mix) // 2


def test_pretrain_json_names_images_of_the_pretrain_zip(sample: Catalog) -> None:
    records = json.loads(local_path(sample["llava-pretrain-json"]).read_bytes())
    members = set(zip_images(sample["llava-pretrain-images"]))
    assert {r["image"] for r in records} == members
    for r in records:
        assert r["id"] == PurePosixPath(r["image"]).stem
        human, gpt = r["conversations"]
        assert (human["from"], gpt["from"]) == ("human", "gpt")
        assert human["value"].count(IMAGE_TOKEN) == 1 and gpt["value"]
