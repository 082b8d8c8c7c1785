"""Segmented download benchmark: one large file from a loopback server that throttles every connection (as the
real servers do), fetched by ``llavamix fetch`` (its defaults: up to 8 connections), ``aria2c -x8 -s8`` and
``curl``, side by side. Goal: llavamix >= 1.0x aria2c.

Like for like: llavamix checks the md5 and makes the file durable (fsync) before it reports success, so aria2c and
curl are timed with a ``sync -f`` of their file; every contender is a fresh process (start-up included) writing a
fresh file. llavamix runs as an installed package does, from compiled bytecode (kept in a cache folder of the run's
own, even where PYTHONDONTWRITEBYTECODE is set, and filled by an untimed first start). The server runs in its own
process (``tests/httpserver.py --rate``), so it shares no interpreter lock with anyone timed.

    .venv/bin/python benchmarks/bench_segmented.py            # 256 MB at 8 MB/s a connection (curl alone: ~32 s)
    .venv/bin/python benchmarks/bench_segmented.py --small    # 64 MB at 2 MB/s a connection
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import clirun  # benchmarks/clirun.py, beside this script
import loopback  # benchmarks/loopback.py, beside this script

MB = 1_000_000
TIMEOUT = 300  # seconds any one contender may take


def make_file(path: Path, size: int) -> str:
    """Random bytes (incompressible, like a zip of JPEGs); returns their md5."""
    md5 = hashlib.md5()
    with open(path, "wb") as fh:
        for at in range(0, size, 16 << 20):
            block = os.urandom(min(16 << 20, size - at))
            fh.write(block)
            md5.update(block)
    return md5.hexdigest()


def timed(*commands: list[str], env: dict[str, str] | None = None) -> float:
    """Seconds to run ``commands`` one after the other (each must succeed)."""
    t = time.perf_counter()
    for cmd in commands:
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, timeout=TIMEOUT, env=env)
    return time.perf_counter() - t


def contenders(url: str, size: int, md5: str, work: Path) -> dict[str, list[list[str]]]:
    catalog = clirun.one_source_catalog(work / "catalog.toml", "big", url, size, md5=md5, archive="none", into="big")
    out = work / "out"
    runs = {
        "llavamix fetch (defaults)": [
            [*clirun.LLAVAMIX, "fetch", "big", "--catalog", str(catalog), "--root", str(out / "root")]
        ],
        "aria2c -x8 -s8 + sync": [
            ["aria2c", "-q", "-x8", "-s8", "--allow-overwrite=true", "-d", str(out), "-o", "aria2.bin", url],
            ["sync", "-f", str(out / "aria2.bin")],
        ],
        "curl + sync": [["curl", "-sS", "-o", str(out / "curl.bin"), url], ["sync", "-f", str(out / "curl.bin")]],
    }
    return {name: cmds for name, cmds in runs.items() if shutil.which(cmds[0][0])}


def bench(url: str, size: int, md5: str, work: Path, repeat: int, curl: bool) -> dict[str, float]:
    runs = contenders(url, size, md5, work)
    if not curl:
        runs.pop("curl + sync", None)
    env = clirun.bytecode_env(work)
    best: dict[str, float] = {}
    for round_ in range(repeat):
        order = list(runs) if round_ % 2 == 0 else list(reversed(runs))  # neither always goes first
        for name in order:
            if name.startswith("curl") and name in best:
                continue  # one connection: the same every time, and the longest run by far
            shutil.rmtree(work / "out", ignore_errors=True)
            (work / "out").mkdir()
            best[name] = min(best.get(name, float("inf")), timed(*runs[name], env=env))
    shutil.rmtree(work / "out", ignore_errors=True)
    return best


def report(best: dict[str, float], size: int, rate: float) -> None:
    print(f"{size / MB:.0f} MB over loopback, {rate / MB:g} MB/s per connection (best of runs, start-up included)")
    mine = best["llavamix fetch (defaults)"]
    for name, secs in best.items():
        print(f"  {name:28s} {secs:7.2f} s  {size / MB / secs:7.1f} MB/s  llavamix is {secs / mine:5.2f}x as fast")
    if "aria2c -x8 -s8 + sync" not in best:
        print("  aria2c is not installed (Debian: apt-get install aria2): no comparison with it")
    else:
        print(f"  goal: >= 1.0x aria2c; got {best['aria2c -x8 -s8 + sync'] / mine:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=256)
    parser.add_argument("--rate-mb", type=float, default=8.0, help="MB/s each connection gets from the server")
    parser.add_argument("--small", action="store_true", help="64 MB at 2 MB/s a connection instead")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each (curl runs once); the best counts")
    parser.add_argument("--no-curl", action="store_true", help="leave curl out (it takes size/rate seconds)")
    args = parser.parse_args()
    size = (64 if args.small else args.size_mb) * MB
    rate = (2.0 if args.small else args.rate_mb) * MB
    with tempfile.TemporaryDirectory(prefix="bench_segmented_") as tmp:
        work = Path(tmp)
        (work / "served").mkdir()
        md5 = make_file(work / "served" / "big.bin", size)
        server, base = loopback.start_server("--root", str(work / "served"), "--rate", str(rate))
        try:
            best = bench(f"{base}/big.bin", size, md5, work, args.repeat, not args.no_curl)
        finally:
            server.terminate()
            server.wait()
    report(best, size, rate)


if __name__ == "__main__":
    main()
