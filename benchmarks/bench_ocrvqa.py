"""OCR-VQA crawl benchmark: llavamix (default concurrency) vs the official script's sequential loop
(``urllib.request.urlretrieve(url, f"images/{key}{ext}")`` per key), both crawling the same small images from a
loopback server that waits 20 ms before every answer, as a distant image server would. Goal: >= 10x.

The images are plain JPEGs, so llavamix keeps their bytes as they are (as the baseline does) and the comparison
is of the crawl itself; llavamix also writes each file through a temporary name and checks it is an image.

    .venv/bin/python benchmarks/bench_ocrvqa.py            # 5,000 images
    .venv/bin/python benchmarks/bench_ocrvqa.py --small    # 500 images
"""

from __future__ import annotations

import argparse
import io
import json
import os
import tempfile
import time
import urllib.request
from pathlib import Path

import loopback  # benchmarks/loopback.py, beside this script
from PIL import Image

from llavamix.catalog import Source
from llavamix.fetch import FetchOptions, fetch_source
from llavamix.foundation.layout import Layout


def make_images(folder: Path, count: int) -> None:
    """``count`` small distinct JPEGs (about 1-2 KB, like thumbnails) named by ten-character keys."""
    folder.mkdir(parents=True)
    base = Image.linear_gradient("L").resize((48, 64)).convert("RGB")
    for i in range(count):
        img = base.copy()
        img.paste((i % 256, (i // 256) % 256, 128), (4, 4, 20, 20))
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=85)
        (folder / f"{i:010d}.jpg").write_bytes(buf.getvalue())


def official_loop(index: dict[str, dict[str, str]], out: Path) -> float:
    """The official loadDataset.py loop, timed: one urlretrieve after another."""
    out.mkdir()
    start = time.perf_counter()
    for key, entry in index.items():
        ext = os.path.splitext(entry["imageURL"])[1]  # noqa: PTH122 (the official script, as written)
        urllib.request.urlretrieve(entry["imageURL"], out / f"{key}{ext}")
    return time.perf_counter() - start


def llavamix_crawl(dataset: Path, root: Path, expected: int) -> float:
    src = Source(name="ocr_vqa", url=dataset.as_uri(), into="ocr_vqa/images", kind="ocrvqa")
    start = time.perf_counter()
    got = fetch_source(src, Layout(root), FetchOptions())
    seconds = time.perf_counter() - start
    if got.crawl is None or got.crawl.landed != expected:
        raise SystemExit(f"llavamix crawled {got.crawl}, expected {expected} images")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=5000, help="images to crawl")
    parser.add_argument("--small", action="store_true", help="500 images instead")
    parser.add_argument("--latency", type=float, default=0.020, help="seconds the server waits before each answer")
    args = parser.parse_args()
    count = 500 if args.small else args.count
    with tempfile.TemporaryDirectory(prefix="bench_ocrvqa_") as tmp:
        work = Path(tmp)
        make_images(work / "served" / "images", count)
        server, base = loopback.start_server("--root", str(work / "served"), "--latency", str(args.latency))
        try:
            index = {f"{i:010d}": {"imageURL": f"{base}/images/{i:010d}.jpg", "title": "t"} for i in range(count)}
            dataset = work / "dataset.json"
            dataset.write_text(json.dumps(index))
            mine = llavamix_crawl(dataset, work / "data", count)
            theirs = official_loop(index, work / "official")
        finally:
            server.terminate()
            server.wait()
    print(f"OCR-VQA crawl of {count:,} images, {args.latency * 1000:.0f} ms per answer, loopback")
    print(f"  official sequential loop  {theirs:7.2f} s  {count / theirs:8.1f} images/s")
    print(f"  llavamix (defaults)       {mine:7.2f} s  {count / mine:8.1f} images/s")
    print(f"  ratio: {theirs / mine:.1f}x (goal >= 10x)")


if __name__ == "__main__":
    main()
