"""Extraction speed: llavamix ``extract_source`` vs ``unzip -q`` on the same zip of small real-photo JPEGs.

    python benchmarks/bench_extract.py [--files 20000] [--small] [--jobs N] [--tmp DIR]

The zip copies the LAION-CC-SBU-558K ``images.zip`` shape: ``00000/``, ``00001/``, ... folders of 1,000 JPEGs
(crops and resizes of matplotlib's sample photo, ~10-30 KB each), stored without compression like real image zips.
Each tool extracts into a fresh folder, twice, in rotating order after a ``sync``; the best time of each counts.
llavamix's time includes its completion marker and the one ``sync`` it makes before writing it, so
``unzip -q && sync`` is shown too. ``--tmp /dev/shm`` takes the disk out of the comparison.
"""

from __future__ import annotations

import argparse
import io
import random
import shutil
import subprocess
import tempfile
import time
import zipfile
from pathlib import Path

from llavamix.catalog import Source
from llavamix.extract import ExtractOptions, extract_source
from llavamix.foundation.layout import Layout

DISTINCT = 400  # encoded photos; the names cycle through them (stored bytes cost the same whatever they hold)


def photos(n: int, seed: int = 0) -> list[bytes]:
    """``n`` distinct JPEGs of 10-30 KB: random crops of matplotlib's grace_hopper.jpg, resized."""
    from matplotlib import cbook
    from PIL import Image

    with cbook.get_sample_data("grace_hopper.jpg") as fh:
        photo = Image.open(fh).convert("RGB")
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        w, h = rng.randint(180, 420), rng.randint(180, 420)
        x, y = rng.randint(0, photo.width - w), rng.randint(0, photo.height - h)
        side = rng.choice([224, 256, 288, 320])
        crop = photo.crop((x, y, x + w, y + h)).resize((side, side * h // w))
        buf = io.BytesIO()
        crop.save(buf, "JPEG", quality=rng.randint(80, 92))
        out.append(buf.getvalue())
    return out


def build_zip(path: Path, n_files: int) -> int:
    """Write the benchmark zip; returns its uncompressed size in bytes."""
    data = photos(min(DISTINCT, n_files))
    total = 0
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
        for i in range(n_files):
            blob = data[i % len(data)]
            zf.writestr(f"{i // 1000:05d}/{i:09d}.jpg", blob)
            total += len(blob)
    return total


def time_unzip(archive: Path, dest: Path, sync: bool) -> float:
    start = time.perf_counter()
    subprocess.run(["unzip", "-q", str(archive), "-d", str(dest)], check=True)
    if sync:
        subprocess.run(["sync"], check=True)
    return time.perf_counter() - start


def time_llavamix(archive: Path, root: Path, jobs: int) -> float:
    source = Source(name="bench", url=archive.as_uri(), into="images", archive="zip")
    start = time.perf_counter()
    extract_source(source, archive, Layout(root), ExtractOptions(keep_archive=True, jobs=jobs))
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--files", type=int, default=20_000)
    ap.add_argument("--small", action="store_true", help="2,000 files, for a quick check")
    ap.add_argument("--jobs", type=int, default=1, help="llavamix writer threads")
    ap.add_argument("--rounds", type=int, default=3, help="runs of each tool (best one counts)")
    ap.add_argument("--settle", type=float, default=3.0, help="seconds of rest after the sync before each run")
    ap.add_argument("--tmp", type=Path, default=None, help="scratch folder (default: the system temp dir)")
    args = ap.parse_args()
    if shutil.which("unzip") is None:
        raise SystemExit("unzip is not installed (apt-get install -y unzip)")
    n_files = 2_000 if args.small else args.files
    with tempfile.TemporaryDirectory(dir=args.tmp, prefix="bench_extract_") as tmp:
        work = Path(tmp)
        archive = work / "images.zip"
        total = build_zip(archive, n_files)
        print(f"zip: {n_files:,} JPEGs, {total / 1e6:.1f} MB stored, {archive.stat().st_size / 1e6:.1f} MB on disk")
        runs = {
            "unzip -q": lambda dest: time_unzip(archive, dest, sync=False),
            "unzip -q && sync": lambda dest: time_unzip(archive, dest, sync=True),
            "llavamix": lambda dest: time_llavamix(archive, dest, args.jobs),
        }
        best = dict.fromkeys(runs, float("inf"))
        names = list(runs)
        for r in range(args.rounds):
            for name in names[r % 3 :] + names[: r % 3]:  # rotate the order: no tool always goes first
                dest = work / f"out{r}"
                subprocess.run(["sync"], check=True)  # no run pays for the previous run's dirty pages
                time.sleep(args.settle)  # let the disk finish background writeback (deletions) too
                best[name] = min(best[name], runs[name](dest))
                shutil.rmtree(dest)
        for name, secs in best.items():
            print(f"{name:18s} {secs:7.3f} s  {n_files / secs:9,.0f} files/s  {total / secs / 1e6:7.1f} MB/s")
        for base in ("unzip -q", "unzip -q && sync"):
            print(f"llavamix vs {base}: {best[base] / best['llavamix']:.2f}x (higher is faster; goal >= 1.0x)")


if __name__ == "__main__":
    main()
