"""OCR-VQA from its mirror zip first, the crawl for what the mirror lacks: the sample over loopback HTTP, real
``python -m llavamix`` processes, server request counts, and kill -9 mid-extraction and mid-crawl."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from PIL import Image

from llavamix.fetch.jpeg import as_jpeg
from tests.httpserver import Fault, LoopbackServer
from tests.prepare.conftest import SAMPLE_DIR, http_catalog, run_cli, tree_digest
from tests.prepare.test_kill import kill_when, no_temporaries, spawn

MIRROR = "/ocr_vqa/ocr_vqa_images_llava_v15.zip"
MIRRORED = {"080522393X": "/ocr_vqa/images/080522393X.jpg", "1570761280": "/ocr_vqa/images/1570761280.gif"}
LACKING = "/ocr_vqa/images/B00008RWPV.png"  # the one key of the mix the sample's mirror lacks
FILLERS = 3000  # extra mirror members, so that the mirror's extraction lasts long enough to be interrupted


def image_gets(server: LoopbackServer) -> list[str]:
    return [r.path for r in server.requests if r.method == "GET" and r.path.startswith("/ocr_vqa/images/")]


def prepare(catalog: Path, root: Path, *extra: str) -> str:
    """``prepare ocr_vqa`` (and the mix it needs, whose other sources are absent: exit 3), which must lay it out."""
    proc = run_cli("prepare", "ocr_vqa", "--catalog", catalog, "--root", root, *extra)
    assert proc.returncode in (0, 3) and (root / ".llavamix/done/ocr_vqa.extract").is_file(), proc.stdout + proc.stderr
    return " ".join(proc.stdout.split())  # rich wraps long lines


def images(root: Path) -> Path:
    return root / "ocr_vqa" / "images"


def test_mirror_keys_are_not_crawled_and_the_missing_key_is(tmp_path: Path, sample_server: LoopbackServer) -> None:
    catalog = http_catalog(tmp_path, sample_server)
    out = prepare(catalog, tmp_path / "data")
    assert image_gets(sample_server) == [LACKING], "only the key the mirror lacks is crawled"
    assert len(sample_server.gets(MIRROR)) == 1
    assert "3 images wanted, 2 from the mirror, 1 crawled, 0 already there, 0 dead in both" in out
    assert sorted(p.name for p in images(tmp_path / "data").iterdir()) == [
        "080522393X.jpg", "1570761280.jpg", "B00008RWPV.jpg"
    ]  # fmt: skip


def test_mirror_bytes_are_normalised_as_the_crawl_does(tmp_path: Path, sample_server: LoopbackServer) -> None:
    root = tmp_path / "data"
    prepare(http_catalog(tmp_path, sample_server), root)
    with zipfile.ZipFile(SAMPLE_DIR / MIRROR.lstrip("/")) as zf:
        jpeg, gif = zf.read("ocr_vqa/images/080522393X.jpg"), zf.read("ocr_vqa/images/1570761280.jpg")
    assert gif.startswith(b"GIF8"), "the sample's mirror hides a GIF under .jpg"
    assert (images(root) / "080522393X.jpg").read_bytes() == jpeg, "a real JPEG is kept byte for byte"
    landed = (images(root) / "1570761280.jpg").read_bytes()
    assert landed == as_jpeg(gif)[0]
    with Image.open(io.BytesIO(landed)) as img:
        assert (img.format, img.mode) == ("JPEG", "RGB")


def test_no_mirror_crawls_every_key_into_the_same_tree(tmp_path: Path, sample_server: LoopbackServer) -> None:
    catalog = http_catalog(tmp_path, sample_server)
    prepare(catalog, tmp_path / "mirrored")
    sample_server.requests.clear()
    out = prepare(catalog, tmp_path / "crawled", "--no-mirror")
    assert sorted(image_gets(sample_server)) == sorted([*MIRRORED.values(), LACKING])
    assert not sample_server.gets(MIRROR), "--no-mirror never asks for the mirror"
    assert "3 images wanted, 3 fetched, 0 already there, 0 dead" in out
    assert tree_digest(tmp_path / "crawled") == tree_digest(tmp_path / "mirrored")


def zip_of(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_a_mirror_of_unexpected_layout_fails_naming_its_members(tmp_path: Path, sample_server: LoopbackServer) -> None:
    jpeg = (SAMPLE_DIR / "ocr_vqa/images/080522393X.jpg").read_bytes()
    sample_server.add(MIRROR, zip_of({"covers/2019/080522393X.jpg": jpeg, "covers/2020/1570761280.jpg": jpeg}))
    root = tmp_path / "data"
    proc = run_cli("prepare", "ocr_vqa", "--catalog", http_catalog(tmp_path, sample_server), "--root", root)
    assert proc.returncode == 3, proc.stderr
    said = " ".join((proc.stdout + proc.stderr).split())
    assert "failed ocr_vqa" in said and "'covers/2019/080522393X.jpg'" in said and "ocr_vqa/images/<key>.jpg" in said
    assert not image_gets(sample_server), "nothing is crawled past a mirror it cannot read"
    assert not images(root).exists() or not any(images(root).iterdir()), "nothing was extracted"


def test_kill_during_the_crawl_resumes_to_the_same_tree(tmp_path: Path, sample_server: LoopbackServer) -> None:
    catalog = http_catalog(tmp_path, sample_server)
    reference = tmp_path / "reference"
    prepare(catalog, reference)
    held = Fault(hold_after=0)  # the crawl's one image stays unanswered until the kill has landed
    sample_server.fault(LACKING, held)
    root = tmp_path / "data"
    before = len(sample_server.gets(LACKING))
    proc = spawn(catalog, root, "ocr_vqa")
    assert kill_when(proc, lambda: len(sample_server.gets(LACKING)) > before)
    held.resume.set()
    assert (root / ".llavamix/done/ocr_vqa.mirror").is_file() and not (images(root) / "B00008RWPV.jpg").exists()
    mirror_gets = len(sample_server.gets(MIRROR))
    prepare(catalog, root)
    assert len(sample_server.gets(MIRROR)) == mirror_gets, "the mirror laid out is not fetched again"
    assert tree_digest(root) == tree_digest(reference)
    assert no_temporaries(root)


def big_mirror_catalog(tmp: Path, server: LoopbackServer) -> Path:
    """The sample over ``server`` with a mirror of the sample's members plus FILLERS more JPEG covers."""
    with zipfile.ZipFile(SAMPLE_DIR / MIRROR.lstrip("/")) as zf:
        members = {i.filename: zf.read(i) for i in zf.infolist() if not i.is_dir()}
    filler = members["ocr_vqa/images/080522393X.jpg"]
    members.update({f"ocr_vqa/images/F{i:09d}.jpg": filler for i in range(FILLERS)})
    server.add("/big/ocr_vqa_images_llava_v15.zip", zip_of(members))
    text = (
        http_catalog(tmp, server)
        .read_text()
        .replace(f"{server.base}{MIRROR}", server.url("/big/ocr_vqa_images_llava_v15.zip"))
    )
    out = tmp / "big-mirror.toml"
    out.write_text(text)
    return out


def test_kill_during_the_mirrors_extraction_resumes_to_the_same_tree(
    tmp_path: Path, sample_server: LoopbackServer
) -> None:
    catalog = big_mirror_catalog(tmp_path, sample_server)
    reference = tmp_path / "reference"
    prepare(catalog, reference)
    assert len(list(images(reference).iterdir())) == FILLERS + 3
    held = Fault(hold_after=0, repeat=True)  # the run cannot end before the kill, however fast it extracts
    sample_server.fault(LACKING, held)
    for attempt in range(5):  # the kill must land while members are written; retry if it came after the last
        root = tmp_path / f"data{attempt}"
        proc = spawn(catalog, root, "ocr_vqa")
        assert kill_when(proc, lambda r=root: images(r).is_dir() and len(list(images(r).iterdir())) > 50)
        if not (root / ".llavamix/done/ocr_vqa.mirror").exists():
            break
    else:
        raise AssertionError("could not interrupt the mirror's extraction")
    held.resume.set()
    sample_server.faults.pop(LACKING, None)
    assert len(list(images(root).glob("*.jpg"))) < FILLERS + 2, "the kill landed mid-extraction"
    prepare(catalog, root)
    assert tree_digest(root) == tree_digest(reference)
    assert no_temporaries(root)
