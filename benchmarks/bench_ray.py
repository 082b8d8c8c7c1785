"""``verify --deep`` on a synthetic mix of ~20k images: the local engine against ``--engine ray`` (a local Ray
instance started by the command itself, as a user's first run would), same machine, same run, each a fresh
process; prints both wall times and their ratio (goal: Ray <= 1.3x local).

    python benchmarks/bench_ray.py [--records N] [--images M] [--work DIR]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from synthetic import make_mix


def _timed(*args: str) -> float:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "llavamix", *args], capture_output=True, text=True)
    if done.returncode not in (0, 3):
        raise SystemExit(done.stdout + done.stderr)
    return time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=40_000)
    ap.add_argument("--images", type=int, default=20_000)
    ap.add_argument("--work", type=Path, default=None)
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-ray-"))
    mix = make_mix(work / "mix.json", args.records, image_root=work / "data", n_images=args.images)
    verify = ["verify", str(mix), "--root", str(work / "data"), "--deep", "--no-cache"]
    _timed(*verify)  # warm the page cache, so both engines read the images from memory
    local = _timed(*verify)
    on_ray = _timed(*verify, "--engine", "ray")
    print(
        f"verify --deep, {args.images:,} images: local {local:.1f} s, ray {on_ray:.1f} s, ratio {on_ray / local:.2f}x"
    )


if __name__ == "__main__":
    main()
