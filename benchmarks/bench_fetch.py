"""Fetch benchmark: llavamix vs ``curl -s -o`` downloading one large file from the same loopback server.

llavamix's time includes its checksum: md5 (COCO's case) and sha256 (every Hub file's case) are both timed;
curl is timed without hashing, and ``curl + md5sum`` is shown as well for a like-for-like figure, with llavamix
checking the size only (no hash) and md5 alone (the bound for any md5-checked fetch). llavamix also fsyncs the
file before its rename, so ``curl + sync`` (``sync -f`` of the file) is the like-for-like baseline of a
size-only fetch. Goal: >= 0.9x curl.

    .venv/bin/python benchmarks/bench_fetch.py            # 500 MB
    .venv/bin/python benchmarks/bench_fetch.py --small    # 50 MB
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import clirun  # benchmarks/clirun.py, beside this script
import loopback  # benchmarks/loopback.py, beside this script

from llavamix.catalog import Source
from llavamix.fetch import FetchOptions, fetch_source
from llavamix.foundation.io import hash_file
from llavamix.foundation.layout import Layout

MB = 1_000_000


def make_file(path: Path, size: int) -> tuple[str, str]:
    """Random bytes (incompressible, like a zip of JPEGs); returns their md5 and sha256."""
    md5, sha256 = hashlib.md5(), hashlib.sha256()
    with open(path, "wb") as fh:
        left = size
        while left:
            block = os.urandom(min(left, 16 << 20))
            fh.write(block)
            md5.update(block)
            sha256.update(block)
            left -= len(block)
    return md5.hexdigest(), sha256.hexdigest()


def timed(fn: Callable[[], object]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def run_curl(url: str, out: Path, *, md5: bool, sync: bool = False) -> None:
    subprocess.run(["curl", "-s", "-o", str(out), url], check=True)
    if sync:  # durable like llavamix's download, which fsyncs the file before it renames it into place
        subprocess.run(["sync", "-f", str(out)], check=True)
    if md5:
        subprocess.run(["md5sum", str(out)], check=True, stdout=subprocess.DEVNULL)


def run_cli(src: Source, work: Path, env: dict[str, str]) -> float:
    """``llavamix fetch`` (start-up included) of a one-source catalog: the like-for-like match of ``curl``."""
    catalog = clirun.one_source_catalog(work / "catalog.toml", src.name, src.url, src.size or 0, into="big")
    return clirun.timed_cli(env, "fetch", src.name, "--catalog", catalog, "--root", work / "cli")


def run_llavamix(src: Source, layout: Layout) -> None:
    got = fetch_source(src, layout, FetchOptions())
    if got.how != "downloaded":
        raise SystemExit(f"expected a fresh download, got {got.how}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=500)
    parser.add_argument("--small", action="store_true", help="50 MB instead")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the best is reported")
    args = parser.parse_args()
    if shutil.which("curl") is None:
        raise SystemExit("curl is not installed")
    size = (50 if args.small else args.size_mb) * MB
    with tempfile.TemporaryDirectory(prefix="bench_fetch_") as tmp:
        work = Path(tmp)
        (work / "served").mkdir()
        digests = make_file(work / "served" / "big.bin", size)
        server, base = loopback.start_server("--root", str(work / "served"))
        try:
            results = bench(f"{base}/big.bin", size, digests, work, args.repeat)
            results["md5 of the file alone"] = timed(lambda: hash_file(work / "served" / "big.bin", "md5"))
        finally:
            server.terminate()
            server.wait()
    report(results, size)


def bench(url: str, size: int, digests: tuple[str, str], work: Path, repeat: int) -> dict[str, float]:
    md5, sha256 = digests
    src = Source(name="big", url=url, into="big", size=size, md5=md5)
    hub_like = Source(name="big", url=url, into="big", size=size, sha256=sha256)  # how every Hub file is checked
    layout = Layout(work / "data")
    out = work / "curl.bin"
    unchecked = Source(name="big", url=url, into="big", size=size)
    env = clirun.bytecode_env(work)
    times: dict[str, list[float]] = {
        "curl": [],
        "curl + sync": [],
        "curl + md5sum": [],
        "llavamix (md5 checked)": [],
        "llavamix (sha256 checked)": [],
        "llavamix (size only)": [],
        "llavamix fetch CLI (size only)": [],
    }
    for _ in range(repeat):
        times["curl"].append(timed(lambda: run_curl(url, out, md5=False)))
        out.unlink()
        times["curl + sync"].append(timed(lambda: run_curl(url, out, md5=False, sync=True)))
        out.unlink()
        times["curl + md5sum"].append(timed(lambda: run_curl(url, out, md5=True)))
        out.unlink()
        times["llavamix (md5 checked)"].append(timed(lambda: run_llavamix(src, layout)))
        shutil.rmtree(layout.root)
        times["llavamix (sha256 checked)"].append(timed(lambda: run_llavamix(hub_like, layout)))
        shutil.rmtree(layout.root)
        times["llavamix (size only)"].append(timed(lambda: run_llavamix(unchecked, layout)))
        shutil.rmtree(layout.root)
        times["llavamix fetch CLI (size only)"].append(run_cli(unchecked, work, env))
        shutil.rmtree(work / "cli")
    return {name: min(ts) for name, ts in times.items()}


def report(best: dict[str, float], size: int) -> None:
    print(f"fetch of {size / MB:.0f} MB over loopback (best of runs)")
    for name, secs in best.items():
        print(f"  {name:31s} {secs:7.2f} s  {size / MB / secs:8.1f} MB/s")
    mine = best["llavamix (md5 checked)"]
    print(f"  ratio vs curl, md5 checked:     {best['curl'] / mine:.2f}x (goal >= 0.9x)")
    print(f"  ratio vs curl, sha256 checked:  {best['curl'] / best['llavamix (sha256 checked)']:.2f}x")
    print(f"  ratio vs curl + md5sum:         {best['curl + md5sum'] / mine:.2f}x")
    like = best["curl + sync"] / best["llavamix (size only)"]
    print(f"  size only vs curl + sync:       {like:.2f}x (like for like, library call)")
    cli = best["curl + sync"] / best["llavamix fetch CLI (size only)"]
    print(f"  fetch CLI vs curl + sync:       {cli:.2f}x (like for like, start-up included; goal >= 0.9x)")
    bound = best["curl"] / best["md5 of the file alone"]
    print(f"  (an md5-checked fetch can be no faster than md5 alone: {bound:.2f}x curl)")


if __name__ == "__main__":
    main()
