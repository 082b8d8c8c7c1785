"""Benchmark: ``llavamix mix build`` vs a plain ``json.load`` + filter + ``json.dump`` script, same run.

The synthetic mix (default 1M records) with its images; the recipe caps two sources (coco, gqa), weights one
(ocr_vqa x1.5) and dedups by text and image bytes. Each side runs in a fresh process; time is wall time, memory
is the process's peak RSS (ru_maxrss). The baseline does the same selection with ``random.sample`` and sets of
hashes, holding every record in memory as Python objects, the way a throwaway script does.

    python benchmarks/bench_mixbuild.py [--records N | --small] [--work DIR]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from synthetic import make_mix

RECIPE = """seed = 0
[[input]]
name = "mix"
path = "mix.json"
root = "data"
[[select]]
image_prefix = "coco/"
action = "cap"
count = {cap}
[[select]]
image_prefix = "gqa/"
action = "cap"
count = {cap}
[[select]]
image_prefix = "ocr_vqa/"
action = "weight"
fraction = 1.5
[dedup]
by = ["text", "image_bytes"]
"""

OURS = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    def peak_kb():  # VmHWM: this process's peak RSS (ru_maxrss would keep the forking parent's)
        lines = Path('/proc/self/status').read_text().splitlines()
        return next(int(l.split()[1]) for l in lines if l.startswith('VmHWM'))
    from llavamix.mix import build_mix, load_recipe
    report = build_mix(load_recipe(Path(sys.argv[1])), Path(sys.argv[2]))
    print(report.records, peak_kb())
    """
)

BASELINE = textwrap.dedent(
    """
    import hashlib, json, os, random, sys
    from pathlib import Path
    def peak_kb():
        lines = Path('/proc/self/status').read_text().splitlines()
        return next(int(l.split()[1]) for l in lines if l.startswith('VmHWM'))
    mix, root, out, cap = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    records = json.load(open(mix))
    seen_text, seen_image, digests, kept = set(), set(), {}, []
    for r in records:
        text = " ".join(t["value"].replace("<image>", " ").casefold() for t in r["conversations"])
        text = hash(" ".join(text.split()))
        image = r.get("image")
        if image is not None and image not in digests:
            with open(os.path.join(root, image), "rb") as fh:
                digests[image] = hashlib.blake2b(fh.read(), digest_size=8).digest()
        blob = digests.get(image)
        if text in seen_text or (blob is not None and blob in seen_image):
            continue
        seen_text.add(text)
        if blob is not None:
            seen_image.add(blob)
        kept.append(r)
    rng, groups, out_records = random.Random(0), {}, []
    for r in kept:
        prefix = next((p for p in ("coco/", "gqa/", "ocr_vqa/") if r.get("image", "").startswith(p)), "")
        groups.setdefault(prefix, []).append(r)
    for prefix, group in groups.items():
        if prefix in ("coco/", "gqa/"):
            group = rng.sample(group, min(cap, len(group)))
        elif prefix == "ocr_vqa/":
            group = group + rng.sample(group, len(group) // 2)
        out_records += group
    json.dump(out_records, open(out, "w"))
    print(len(out_records), peak_kb())
    """
)


def run(code: str, *args: str | Path) -> tuple[float, int, float]:
    """(seconds, records written, peak RSS in MB) of one fresh process."""
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - start
    records, peak_kb = map(int, done.stdout.split()[-2:])
    return seconds, records, peak_kb / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--small", action="store_true", help="100K records")
    ap.add_argument("--work", type=Path, default=None, help="folder for the mix and outputs [default: a temp dir]")
    args = ap.parse_args()
    n = 100_000 if args.small else args.records
    work = args.work or Path(tempfile.mkdtemp(prefix="bench_mixbuild_"))
    try:
        mix = make_mix(work / "mix.json", n, image_root=work / "data", n_images=max(1000, n // 50))
        recipe = work / "recipe.toml"
        cap = n // 20
        recipe.write_text(RECIPE.format(cap=cap))
        size = mix.stat().st_size / 2**20
        ours = run(OURS, recipe, work / "new.json")
        base = run(BASELINE, mix, work / "data", work / "base.json", cap)
        print(f"{n:,} records, {size:,.0f} MiB; mix build -> {ours[1]:,} records, baseline -> {base[1]:,}")
        print(f"llavamix mix build : {ours[0]:7.1f} s  peak RSS {ours[2]:8.0f} MB")
        print(f"json.load baseline : {base[0]:7.1f} s  peak RSS {base[2]:8.0f} MB")
        print(f"ratio (llavamix / baseline): time {ours[0] / base[0]:.2f}x, peak RSS {ours[2] / base[2]:.2f}x")
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
