"""Extraction speed: llavamix ``extract_source`` vs ``unzip -q`` on the same zip of small real-photo JPEGs.

    python benchmarks/bench_extract.py [--files 20000] [--small] [--jobs N] [--tmp DIR]

The zip copies the LAION-CC-SBU-558K ``images.zip`` shape: ``00000/``, ``00001/``, ... folders of 1,000 JPEGs
(crops and resizes of matplotlib's sample photo, ~10-30 KB each), stored without compression like real image zips.
Each tool extracts into a fresh folder, ``--rounds`` times, in rotating order after a ``sync``; the best and the
median time of each are shown. llavamix makes its files durable (one ``syncfs`` before its completion marker, the
disk kept writing behind the extraction meanwhile), so
``unzip -q && sync -f DIR`` is the like-for-like baseline; ``llavamix prepare`` (the CLI, start-up included, on the
zip placed in its downloads folder) is timed beside the library call. ``--tmp /dev/shm`` takes the disk out of the
comparison (what is left is each tool's own work).
"""

from __future__ import annotations

import argparse
import io
import os
import random
import shutil
import statistics
import subprocess
import tempfile
import time
import zipfile
from pathlib import Path

import clirun  # benchmarks/clirun.py, beside this script

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
        subprocess.run(["sync", "-f", str(dest)], check=True)
    return time.perf_counter() - start


def time_llavamix(archive: Path, root: Path, jobs: int) -> float:
    source = Source(name="bench", url=archive.as_uri(), into="images", archive="zip")
    start = time.perf_counter()
    extract_source(source, archive, Layout(root), ExtractOptions(keep_archive=True, jobs=jobs))
    return time.perf_counter() - start


def time_cli(archive: Path, root: Path, env: dict[str, str]) -> float:
    """``llavamix prepare`` of a one-source catalog whose zip is already in the downloads folder (adopted by size)."""
    work = root.parent / f"{root.name}.cli"
    (work / "downloads" / "bench").mkdir(parents=True)
    os.link(archive, work / "downloads" / "bench" / archive.name)
    url, size = f"http://127.0.0.1:9/{archive.name}", archive.stat().st_size  # never asked: the zip is there
    catalog = clirun.one_source_catalog(work / "catalog.toml", "bench", url, size, archive="zip", into="images")
    took = clirun.timed_cli(
        env,
        "prepare",
        "bench",
        "--catalog",
        catalog,
        "--root",
        root,
        "--downloads",
        work / "downloads",
        "--keep-archives",
    )
    shutil.rmtree(work)
    return took


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
        env = clirun.bytecode_env(work)
        print(f"zip: {n_files:,} JPEGs, {total / 1e6:.1f} MB stored, {archive.stat().st_size / 1e6:.1f} MB on disk")
        runs = {
            "unzip -q": lambda dest: time_unzip(archive, dest, sync=False),
            "unzip -q && sync -f": lambda dest: time_unzip(archive, dest, sync=True),
            "llavamix (library)": lambda dest: time_llavamix(archive, dest, args.jobs),
            "llavamix prepare": lambda dest: time_cli(archive, dest, env),
        }
        times: dict[str, list[float]] = {name: [] for name in runs}
        names = list(runs)
        for r in range(args.rounds):
            for name in names[r % len(names) :] + names[: r % len(names)]:  # no tool always goes first
                dest = work / f"out{r}"
                subprocess.run(["sync"], check=True)  # no run pays for the previous run's dirty pages
                time.sleep(args.settle)  # let the disk finish background writeback (deletions) too
                times[name].append(runs[name](dest))
                shutil.rmtree(dest)
        report(times, n_files, total)


def report(times: dict[str, list[float]], n_files: int, total: int) -> None:
    best = {name: min(ts) for name, ts in times.items()}
    median = {name: statistics.median(ts) for name, ts in times.items()}
    print(f"{'':22s} {'best':>8s} {'median':>8s}")
    for name in times:
        secs = best[name]
        print(
            f"{name:22s} {secs:7.3f}s {median[name]:7.3f}s  {n_files / secs:9,.0f} files/s  "
            f"{total / secs / 1e6:7.1f} MB/s"
        )
    for mine in ("llavamix (library)", "llavamix prepare"):
        for base in ("unzip -q", "unzip -q && sync -f"):
            print(
                f"{mine} vs {base}: {best[base] / best[mine]:.2f}x best, {median[base] / median[mine]:.2f}x median "
                "(higher is faster)"
            )
    print("goal: llavamix prepare >= 1.0x unzip -q && sync -f")


if __name__ == "__main__":
    main()
