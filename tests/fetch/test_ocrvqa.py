"""The OCR-VQA crawl against a loopback server: JPEG normalisation, the keys the caller names (the recipe picks them
from the mixes, tests/recipes), dead URLs, retries, resume, and a kill -9 mid-crawl followed by a rerun that
fetches nothing twice."""

from __future__ import annotations

import io
import json
import os
import random
import resource
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest
from PIL import Image

from llavamix.catalog import Source
from llavamix.fetch import CrawlJob, CrawlOptions, CrawlReport, FetchOptions, crawl_ocrvqa, fetch_source
from llavamix.fetch.jpeg import as_jpeg
from llavamix.fetch.options import MiB, Pace
from llavamix.foundation.errors import FetchError
from llavamix.foundation.layout import MIX_JSON, Layout
from tests.httpserver import Fault, LoopbackServer

OPTS = FetchOptions(backoff=0.01, max_backoff=0.05, timeout=5.0, crawl=CrawlOptions(jobs=8, backoff=0.01))


def picture(fmt: str, mode: str = "RGB", *, frames: int = 1, size: tuple[int, int] = (40, 30)) -> bytes:
    imgs = [Image.linear_gradient("L").resize(size).convert(mode) for _ in range(frames)]
    for i, img in enumerate(imgs):
        img.paste(img.getpixel((0, 0)) if mode != "P" else 7 * i + 3, (0, 0, 10 + 5 * i, 10))
    out = io.BytesIO()
    extra = {"save_all": True, "append_images": imgs[1:]} if frames > 1 else {}
    if mode == "P" and fmt == "PNG":
        extra["transparency"] = 0
    imgs[0].save(out, fmt, **extra)
    return out.getvalue()


INPUTS = {
    "0001JPEGRGB": ("jpg", picture("JPEG")),
    "0002JPEGGRY": ("jpg", picture("JPEG", "L")),
    "0003CMYKJPG": ("jpg", picture("JPEG", "CMYK")),
    "0004GIFANIM": ("gif", picture("GIF", "P", frames=3)),
    "0005PNGPALT": ("png", picture("PNG", "P")),
    "0006PNGRGBA": ("png", picture("PNG", "RGBA")),
    "0007PNGGREY": ("png", picture("PNG", "LA")),
}


def publish(server: LoopbackServer, images: dict[str, tuple[str, bytes]], dead: tuple[str, ...] = ()) -> Source:
    """Serve ``images`` under /ocr/images/ and a dataset.json listing them (relative URLs) plus ``dead`` keys."""
    index = {
        key: {"imageURL": f"images/{key}.{ext}", "title": "A Book", "split": 1} for key, (ext, _) in images.items()
    }
    index.update({key: {"imageURL": f"http://{server.base[7:]}/gone/{key}.jpg"} for key in dead})
    for key, (ext, data) in images.items():
        server.add(f"/ocr/images/{key}.{ext}", data)
    url = server.add("/ocr/dataset.json", json.dumps(index).encode())
    return Source(name="ocr_vqa", url=url, into="ocr_vqa/images", kind="ocrvqa")


def write_mix(layout: Layout, keys: list[str]) -> None:
    records = [
        {
            "id": f"{k}_{i}",
            "image": f"ocr_vqa/images/{k}.jpg",
            "conversations": [{"from": "human", "value": "<image>\nq"}],
        }
        for i, k in enumerate(keys)
    ]
    path = layout.root / MIX_JSON
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(records))


def crawl(src: Source, layout: Layout, options: FetchOptions = OPTS, uses: Counter[str] | None = None) -> CrawlReport:
    """Fetch the index, then crawl the keys ``uses`` names (every key when None) into the source's folder."""
    index = fetch_source(src, layout, options).path
    job = CrawlJob(src.name, index, src.url, layout.target(src.into), uses, layout.report(f"{src.name}_dead.json"))
    return crawl_ocrvqa(job, options)


def landed(layout: Layout) -> dict[str, bytes]:
    folder = layout.root / "ocr_vqa" / "images"
    return {p.stem: p.read_bytes() for p in sorted(folder.iterdir())}


def test_every_output_is_a_jpeg_and_plain_jpegs_are_kept_byte_for_byte(server, layout):
    got = crawl(publish(server, INPUTS), layout)
    assert got.landed == len(INPUTS) and not got.dead
    files = landed(layout)
    assert sorted(files) == sorted(INPUTS)
    for key, data in files.items():
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            assert img.format == "JPEG", key
            assert img.mode in ("RGB", "L"), key
            assert img.size == (40, 30), key
    assert files["0001JPEGRGB"] == INPUTS["0001JPEGRGB"][1]
    assert files["0002JPEGGRY"] == INPUTS["0002JPEGGRY"][1]
    assert files["0003CMYKJPG"] != INPUTS["0003CMYKJPG"][1], "CMYK is converted to RGB"


def test_the_first_frame_of_a_gif_is_kept():
    data = picture("GIF", "P", frames=3)
    out, converted = as_jpeg(data)
    with Image.open(io.BytesIO(data)) as gif, Image.open(io.BytesIO(out)) as jpg:
        first = gif.convert("RGB")
        assert converted and jpg.size == first.size
        assert abs(jpg.getpixel((2, 2))[0] - first.getpixel((2, 2))[0]) < 12


def test_dead_urls_are_reported_not_fatal(server, layout):
    images = dict(list(INPUTS.items())[:2])
    images["0009HTMLPAG"] = ("jpg", b"<html><body>this image is gone</body></html>")
    src = publish(server, images, dead=("0008MISSING",))
    got = crawl(src, layout)
    assert got.landed == 2
    assert set(got.dead) == {"0008MISSING", "0009HTMLPAG"}
    assert "404" in got.dead["0008MISSING"] and "not a readable image" in got.dead["0009HTMLPAG"]
    assert got.report is not None
    listed = json.loads(got.report.read_text())
    assert {d["key"] for d in listed["dead"]} == {"0008MISSING", "0009HTMLPAG"}
    assert sorted(landed(layout)) == ["0001JPEGRGB", "0002JPEGGRY"]
    assert not list((layout.root / "ocr_vqa" / "images").glob("*.part"))


def test_only_the_keys_the_caller_names_are_crawled(server, layout):
    src = publish(server, INPUTS, dead=("0008MISSING",))
    uses = Counter({"0004GIFANIM": 2, "0008MISSING": 1, "0010NOTINDEX": 1})
    got = crawl(src, layout, uses=uses)
    assert sorted(landed(layout)) == ["0004GIFANIM"]
    assert got.keys == 2 and got.unknown == 1
    assert got.dead_records == 2, "one record of the dead key and one of the key dataset.json lacks"
    assert [r.path for r in server.requests if "/images/" in r.path] == ["/ocr/images/0004GIFANIM.gif"]


def test_all_keys_crawls_every_key(server, layout):
    src = publish(server, INPUTS)
    all_keys = FetchOptions(crawl=CrawlOptions(all_keys=True, jobs=4))
    got = crawl(src, layout, all_keys, uses=Counter({"0004GIFANIM": 1}))
    assert got.dead_records == 0
    assert sorted(landed(layout)) == sorted(INPUTS)


def test_the_stage_never_reads_a_mix_itself(server, layout):
    """The keys are a parameter: a mix JSON under the root does not narrow a crawl that names none."""
    src = publish(server, INPUTS)
    write_mix(layout, ["0004GIFANIM"])
    got = crawl(src, layout)
    assert got.keys == len(INPUTS) and got.dead_records is None
    assert sorted(landed(layout)) == sorted(INPUTS)


def test_transient_failures_are_retried_then_reported_and_a_rerun_resumes(server, layout):
    src = publish(server, INPUTS)
    server.fault("/ocr/images/0005PNGPALT.png", Fault(status=503), Fault(status=429, retry_after="0"))
    server.fault("/ocr/images/0006PNGRGBA.png", Fault(status=500, repeat=True))
    with pytest.raises(FetchError, match=r"1 of 7 images could not be fetched.*rerun to retry"):
        crawl(src, layout)
    listed = json.loads(layout.report("ocr_vqa_dead.json").read_text())
    assert [f["key"] for f in listed["failed"]] == ["0006PNGRGBA"]
    assert len(server.gets("/ocr/images/0005PNGPALT.png")) == 3
    assert len(landed(layout)) == 6

    server.faults.clear()
    served = len(server.requests)
    got = crawl(src, layout)
    assert (got.landed, got.present) == (1, 6)
    assert [r.path for r in server.requests[served:] if "/images/" in r.path] == ["/ocr/images/0006PNGRGBA.png"]


def test_local_file_urls_are_crawled(tmp_path, layout):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "0004GIFANIM.gif").write_bytes(INPUTS["0004GIFANIM"][1])
    index = {"0004GIFANIM": {"imageURL": "images/0004GIFANIM.gif"}, "0008MISSING": {"imageURL": "images/none.jpg"}}
    (tmp_path / "dataset.json").write_text(json.dumps(index))
    src = Source(name="ocr_vqa", url=(tmp_path / "dataset.json").as_uri(), into="ocr_vqa/images", kind="ocrvqa")
    got = crawl(src, layout)
    assert got.landed == 1 and list(got.dead) == ["0008MISSING"]


def test_a_downloaded_index_never_makes_the_crawl_read_local_files(server, layout, tmp_path):
    secret = tmp_path / "secret.jpg"
    secret.write_bytes(INPUTS["0001JPEGRGB"][1])
    src = publish(server, {"0002JPEGGRY": INPUTS["0002JPEGGRY"]})
    index = json.loads(server.entries["/ocr/dataset.json"].data or b"")
    index["0001LOCALFL"] = {"imageURL": secret.as_uri()}
    index["0003FTPURLS"] = {"imageURL": "ftp://127.0.0.1/a.jpg"}
    server.add("/ocr/dataset.json", json.dumps(index).encode())
    got = crawl(src, layout)
    assert sorted(landed(layout)) == ["0002JPEGGRY"]
    assert got.dead["0001LOCALFL"] == (
        f"{secret.as_uri()}: a file: URL in an index that came from {src.url}; only http(s) image URLs are "
        "followed from an index fetched over the network"
    )
    assert "unsupported URL 'ftp://127.0.0.1/a.jpg' (image URLs must be http(s)://)" in got.dead["0003FTPURLS"]


def _small_address_space() -> None:
    """Run in the child: a read without end fails with MemoryError instead of taking the machine's memory."""
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))


def test_a_local_index_reads_regular_files_only(tmp_path):
    mirror = tmp_path / "mirror"
    (mirror / "images").mkdir(parents=True)
    (mirror / "images" / "0001JPEGRGB.jpg").write_bytes(INPUTS["0001JPEGRGB"][1])
    (mirror / "images" / "0002DEVZERO.jpg").symlink_to("/dev/zero")
    os.mkfifo(mirror / "images" / "0003AFIFO.jpg")
    keys = ["0001JPEGRGB", "0002DEVZERO", "0003AFIFO"]
    (mirror / "dataset.json").write_text(json.dumps({k: {"imageURL": f"images/{k}.jpg"} for k in keys}))
    catalog = tmp_path / "local.toml"
    catalog.write_text(
        '[[source]]\nname = "ocr_vqa"\nurl = "file:mirror/dataset.json"\ninto = "ocr_vqa/images"\nkind = "ocrvqa"\n'
    )
    root = tmp_path / "data"
    cmd = [sys.executable, "-m", "llavamix", "fetch", "ocr_vqa", "--catalog", str(catalog), "--root", str(root)]
    env = {**os.environ, "MALLOC_ARENA_MAX": "2"}  # keeps the address space of 32 threads under the limit
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env, preexec_fn=_small_address_space)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (root / "ocr_vqa" / "images").iterdir()) == ["0001JPEGRGB.jpg"]
    listed = json.loads(Layout(root).report("ocr_vqa_dead.json").read_text())
    reasons = {d["key"]: d["reason"] for d in listed["dead"]}
    assert reasons["0002DEVZERO"].endswith("0002DEVZERO.jpg: not a regular file (a character device)")
    assert reasons["0003AFIFO"].endswith("0003AFIFO.jpg: not a regular file (a FIFO)")


def test_image_bodies_are_capped(server, layout, tmp_path):
    noise = Image.frombytes("RGB", (200, 200), random.Random(0).randbytes(120_000))
    out = io.BytesIO()
    noise.save(out, "PNG")
    big = out.getvalue()  # an image, but bigger than the cap below
    images = {"0001JPEGRGB": INPUTS["0001JPEGRGB"], "0002ENDLESS": INPUTS["0002JPEGGRY"], "0003BIGPNGS": ("png", big)}
    src = publish(server, images)
    server.fault("/ocr/images/0002ENDLESS.jpg", Fault(extra=256 * MiB))  # no Content-Length, junk without end
    cap = 64 * 1024
    assert len(INPUTS["0001JPEGRGB"][1]) < cap < len(big)
    got = crawl(src, layout, FetchOptions(crawl=CrawlOptions(max_image_bytes=cap)))
    assert sorted(landed(layout)) == ["0001JPEGRGB"]
    for key in ("0002ENDLESS", "0003BIGPNGS"):
        assert got.dead[key].endswith("larger than 64.0 KiB, the most an image may be (CrawlOptions.max_image_bytes)")
    assert server.bytes_served["/ocr/images/0002ENDLESS.jpg"] < 32 * MiB


def test_a_local_image_over_the_cap_is_dead(tmp_path, layout):
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "0001JPEGRGB.jpg").write_bytes(INPUTS["0001JPEGRGB"][1] + bytes(5000))
    (tmp_path / "dataset.json").write_text(json.dumps({"0001JPEGRGB": {"imageURL": "images/0001JPEGRGB.jpg"}}))
    src = Source(name="ocr_vqa", url=(tmp_path / "dataset.json").as_uri(), into="ocr_vqa/images", kind="ocrvqa")
    cap = len(INPUTS["0001JPEGRGB"][1]) + 100
    got = crawl(src, layout, FetchOptions(crawl=CrawlOptions(max_image_bytes=cap)))
    assert got.landed == 0
    assert "the most an image may be" in got.dead["0001JPEGRGB"]


def test_a_trickling_image_is_a_stall_that_is_retried(server, layout):
    src = publish(server, {"0006PNGRGBA": INPUTS["0006PNGRGBA"]})
    server.fault("/ocr/images/0006PNGRGBA.png", Fault(trickle=0.05, trickle_chunk=20))  # 161 bytes in >= 0.45 s
    # more than the image per window: any answer that takes over 0.3 s stalls, however loaded the machine is
    crawl_opts = CrawlOptions(backoff=0.01, pace=Pace(min_bytes=10_000, seconds=0.3))
    got = crawl(src, layout, FetchOptions(crawl=crawl_opts))
    assert got.landed == 1
    assert len(server.gets("/ocr/images/0006PNGRGBA.png")) >= 2


def test_the_crawl_waits_as_long_as_retry_after_says(server, layout):
    src = publish(server, {"0001JPEGRGB": INPUTS["0001JPEGRGB"]})
    server.fault("/ocr/images/0001JPEGRGB.jpg", Fault(status=429, retry_after="2"))
    started = time.monotonic()
    got = crawl(src, layout)
    assert got.landed == 1
    assert time.monotonic() - started >= 1.9  # OPTS' own backoff is 0.01 s


def test_kill_mid_crawl_then_rerun_fetches_nothing_twice(server, tmp_path):
    images = {f"{i:010d}": ("png", picture("PNG", "RGB", size=(24, 24 + i % 7))) for i in range(400)}
    src = publish(server, images)
    server.latency = 0.01
    catalog = tmp_path / "crawl.toml"
    catalog.write_text(f'[[source]]\nname = "ocr_vqa"\nurl = "{src.url}"\ninto = "ocr_vqa/images"\nkind = "ocrvqa"\n')
    root = tmp_path / "data"
    cmd = [sys.executable, "-m", "llavamix", "fetch", "ocr_vqa", "--catalog", str(catalog), "--root", str(root)]
    folder = root / "ocr_vqa" / "images"
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not (folder.is_dir() and sum(1 for _ in folder.glob("*.jpg")) >= 60):
        assert proc.poll() is None and time.monotonic() < deadline, "the crawl ended before it could be killed"
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = {p.stem for p in folder.glob("*.jpg")}
    assert len(done_before) < len(images)

    rerun = subprocess.run(cmd, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    assert sorted(p.stem for p in folder.glob("*.jpg")) == sorted(images)
    assert not list(folder.glob("*.part"))
    for key in done_before:
        assert len(server.gets(f"/ocr/images/{key}.png")) == 1, key
