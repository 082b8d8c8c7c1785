"""Verify speed and memory, llavamix against the naive approach, each measured in its own process.

(a) existence verify of a synthetic mix (default 1M records, ~1.6 GB, 100k images) vs ``json.load`` + an
    ``os.path.exists`` loop: wall time and peak RSS (hot page cache: one warm-up read first);
(b) deep verify images/s on one core vs ``Image.open(p).convert("RGB")`` on the same images, and 1 vs 2 processes.

    python benchmarks/bench_verify.py [--records N] [--images M] [--deep-images K] [--work DIR] [--small]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from synthetic import image_pool, make_mix


def _peak_mb() -> float:
    """This process's peak RSS plus its largest worker's (MB). VmHWM, not ru_maxrss, for this process:
    ru_maxrss survives exec, so it would report the benchmark driver's own peak."""
    with open("/proc/self/status") as fh:
        own = next(int(line.split()[1]) for line in fh if line.startswith("VmHWM:"))
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (own + kids) / 1024  # KiB -> MiB


def child(kind: str, mix: str, root: str, extra: str) -> None:
    """Run one measurement in this (fresh) process and print {"s": seconds, "mb": peak RSS} as JSON."""
    t0 = time.perf_counter()
    if kind == "naive":
        with open(mix) as fh:
            data = json.load(fh)
        missing = sum(not os.path.exists(os.path.join(root, r["image"])) for r in data if "image" in r)  # noqa: PTH110, PTH118 - the baseline as training code writes it
        result = {"missing": missing}
    elif kind == "verify":
        from llavamix.verify import VerifyOptions, verify_mix

        report = verify_mix(Path(mix), Path(root), VerifyOptions(jobs=int(extra)))
        result = {"missing": report.errors.get("missing", 0)}
    elif kind == "deep":
        from llavamix.verify import VerifyOptions, verify_mix

        jobs, _ = extra.split(",")
        report = verify_mix(Path(mix), Path(root), VerifyOptions(jobs=int(jobs), deep=True, cache=False))
        result = {"images": report.images}
    elif kind in ("decode-ours", "decode-naive"):
        from PIL import Image

        from llavamix.verify.images import inspect_many

        paths = [str(Path(root) / p) for p in json.loads(Path(extra).read_text())]
        if kind == "decode-ours":
            inspect_many(paths)
        else:
            for p in paths:
                Image.open(p).convert("RGB")
        result = {"images": len(paths)}
    print(json.dumps({"s": time.perf_counter() - t0, "mb": _peak_mb(), **result}))


def measure(kind: str, mix: Path, root: Path, extra: str = "") -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(mix), str(root), extra],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def bench_existence(mix: Path, root: Path) -> None:
    with open(mix, "rb") as fh:  # warm the page cache: both sides read a hot file
        while fh.read(1 << 24):
            pass
    ours = {j: measure("verify", mix, root, str(j)) for j in (1, 2)}
    naive = measure("naive", mix, root)
    print(f"existence verify of {mix.stat().st_size / 1e9:.2f} GB:")
    for j, r in ours.items():
        print(f"  llavamix jobs={j}: {r['s']:.2f} s, peak RSS {r['mb']:.0f} MB ({r['missing']} missing)")
    print(f"  naive json.load + exists: {naive['s']:.2f} s, peak RSS {naive['mb']:.0f} MB ({naive['missing']} missing)")
    best = min(ours.values(), key=lambda r: r["s"])
    print(f"  ratio: {naive['s'] / best['s']:.1f}x faster, {naive['mb'] / best['mb']:.1f}x less memory")


def bench_deep(root: Path, n_images: int, work: Path, k: int) -> None:
    paths = [p for rels in image_pool(n_images).values() for p in rels][:: max(1, n_images // k)][:k]
    listing = work / "deep-paths.json"
    listing.write_text(json.dumps(paths))
    ours = measure("decode-ours", work, root, str(listing))
    naive = measure("decode-naive", work, root, str(listing))
    print(f"deep check of {len(paths)} images on one core:")
    print(f"  llavamix inspect: {len(paths) / ours['s']:.0f} images/s")
    print(f"  Image.open().convert('RGB'): {len(paths) / naive['s']:.0f} images/s")
    print(f"  ratio: {naive['s'] / ours['s']:.1f}x")
    mix = work / "deep-mix.json"
    mix.write_text(
        json.dumps(
            [
                {
                    "id": i,
                    "image": p,
                    "conversations": [{"from": "human", "value": "<image>\nq"}, {"from": "gpt", "value": "a"}],
                }
                for i, p in enumerate(paths)
            ]
        )
    )
    scaling = {j: measure("deep", mix, root, f"{j},") for j in (1, 2)}
    for j, r in scaling.items():
        print(f"  verify --deep jobs={j}: {r['images'] / r['s']:.0f} images/s")
    print(f"  scaling 1 -> 2 processes: {scaling[1]['s'] / scaling[2]['s']:.2f}x")


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(*sys.argv[2:6])
        return
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--images", type=int, default=100_000)
    ap.add_argument("--deep-images", type=int, default=3000)
    ap.add_argument("--work", type=Path, default=None, help="folder for the inputs (default: a temp dir)")
    ap.add_argument("--small", action="store_true", help="20k records, 5k images: a quick check")
    args = ap.parse_args()
    if args.small:
        args.records, args.images, args.deep_images = 20_000, 5_000, 500
    work = Path(args.work or tempfile.mkdtemp(prefix="bench-verify-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        t0 = time.perf_counter()
        mix = make_mix(work / "mix.json", args.records, image_root=work / "data", n_images=args.images)
        print(f"generated {args.records} records, {args.images} images in {time.perf_counter() - t0:.0f} s")
        bench_existence(mix, work / "data")
        bench_deep(work / "data", args.images, work, args.deep_images)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
