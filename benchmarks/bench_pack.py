"""Benchmark: ``llavamix pack`` throughput (WebDataset tar and Parquet) vs ``tar cf`` of the same image files.

Builds a synthetic mix whose records reference small real JPEG/PNG files, packs it, and archives the images the
records reference, in record order, with GNU ``tar cf --hard-dereference`` (the synthetic tree hard-links a few
distinct photos under many names; dereferencing makes tar copy every file's bytes as pack does). Both read from a
warm page cache.

    python benchmarks/bench_pack.py [--records N | --small] [--jobs 1] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from synthetic import make_mix

from llavamix.pack import PackOptions, ShardSize, pack_mix


def tar_baseline(root: Path, images: list[str], out: Path) -> tuple[float, float]:
    """Seconds of ``tar cf``, and of ``tar cf`` plus the fsync that llavamix does for every shard it writes."""
    listing = out.with_suffix(".list")
    listing.write_text("\n".join(images) + "\n")
    os.sync()  # start from no dirty pages, like the llavamix runs
    t0 = time.perf_counter()
    subprocess.run(["tar", "cf", str(out), "--hard-dereference", "-C", str(root), "-T", str(listing)], check=True)
    written = time.perf_counter() - t0
    with open(out, "rb") as fh:
        os.fsync(fh.fileno())
    return written, time.perf_counter() - t0


def figures(name: str, seconds: float, size: int, files: int) -> str:
    return f"{name:<26} {seconds:>8.2f} {size / 1e6:>9.0f} {size / 1e6 / seconds:>9.0f} {files / seconds:>10,.0f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=20_000)
    ap.add_argument("--small", action="store_true", help="2,000 records: a quick check")
    ap.add_argument("--jobs", type=int, default=1, help="shards written in parallel by llavamix")
    ap.add_argument("--shard-size", default="200MB")
    ap.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temp dir)")
    args = ap.parse_args()
    n = 2_000 if args.small else args.records
    work = Path(tempfile.mkdtemp(prefix="bench-pack-", dir=args.work))
    try:
        run(work, n, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(work: Path, n: int, args: argparse.Namespace) -> None:
    root = work / "data"
    mix = make_mix(work / "mix.json", n, image_root=root, n_images=n)
    images = [r["image"] for r in json.loads(mix.read_text()) if "image" in r]
    image_bytes = sum((root / p).stat().st_size for p in images)
    print(f"mix: {n:,} records, {len(images):,} with an image ({image_bytes / 1e6:,.0f} MB of image bytes)")
    tar_baseline(root, images, work / "warm.tar")  # warm the page cache for both sides
    (work / "warm.tar").unlink()
    print(f"\n{'writer':<26} {'seconds':>8} {'MB out':>9} {'MB/s':>9} {'files/s':>10}")
    tar_s, base_s = tar_baseline(root, images, work / "baseline.tar")
    size = (work / "baseline.tar").stat().st_size
    print(figures("tar cf (images only)", tar_s, size, len(images)))
    print(figures("tar cf + fsync", base_s, size, len(images)))
    results = {}
    for fmt in ("webdataset", "parquet"):
        size_limit = ShardSize.parse(args.shard_size)
        options = PackOptions(format=fmt, shard_size=size_limit, jobs=args.jobs)  # type: ignore[arg-type]
        os.sync()
        t0 = time.perf_counter()
        report = pack_mix(mix, root, work / fmt, options)
        seconds = time.perf_counter() - t0  # includes planning: every record decoded, every image stat'ed
        results[fmt] = seconds
        members = report.packed + report.images if fmt == "webdataset" else report.packed
        print(figures(f"llavamix {fmt} (j={args.jobs})", seconds, report.bytes, members))
    print(
        f"\nimage files per second, llavamix / (tar cf + fsync): webdataset {base_s / results['webdataset']:.2f}x, "
        f"parquet {base_s / results['parquet']:.2f}x; / tar cf alone: webdataset {tar_s / results['webdataset']:.2f}x"
        " (>1 is faster than tar)"
    )
    print("files/s counts tar members: llavamix webdataset writes a .json and an image per record")


if __name__ == "__main__":
    main()
