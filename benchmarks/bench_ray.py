"""``verify --deep`` on a synthetic mix of ~20k images: the local engine against ``--engine ray``, same machine,
same run, each a fresh process; prints the wall times and their ratios (goal: Ray <= 1.3x local). Ray is timed
twice: the command starting a local instance itself (a user's first run on one machine), and a second run in a
process whose Ray instance and workers are already up (as on a cluster, where the instance outlives the runs),
against the local engine's second run in a process of its own: Ray's own overhead per run.

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
    warm_local, warm_ray = _warm(mix, work / "data", "local"), _warm(mix, work / "data", "ray")
    print(f"verify --deep, {args.images:,} images, each a fresh process:")
    print(f"  local {local:.1f} s; ray, starting its own instance: {on_ray:.1f} s, ratio {on_ray / local:.2f}x")
    print(f"a second run in the same process (instance and workers up, as on a cluster): local {warm_local:.1f} s,")
    print(f"  ray {warm_ray:.1f} s, ratio {warm_ray / warm_local:.2f}x (goal <= 1.3x)")


WARM = """
import sys, time
from pathlib import Path
from llavamix import verify
engine = sys.argv[3]
if engine == "ray":
    import ray
    from llavamix.ray import RayEngine
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING", log_to_driver=False)
    options = verify.VerifyOptions(deep=True, cache=False, engine=RayEngine())
else:
    options = verify.VerifyOptions(deep=True, cache=False)
verify.verify_mix(Path(sys.argv[1]), Path(sys.argv[2]), options)  # workers started, modules imported
started = time.perf_counter()
verify.verify_mix(Path(sys.argv[1]), Path(sys.argv[2]), options)
print(time.perf_counter() - started)
"""


def _warm(mix: Path, root: Path, engine: str) -> float:
    """The second of two verify runs in one process on ``engine``: its wall time."""
    done = subprocess.run(
        [sys.executable, "-c", WARM, str(mix), str(root), engine], capture_output=True, text=True, check=True
    )
    return float(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
