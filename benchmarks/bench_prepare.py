"""Prepare benchmark: downloads and extractions overlapped (``llavamix prepare``) vs in sequence (``llavamix fetch``
of every source, then ``llavamix prepare``, which only extracts), on a synthetic catalog of zip archives served by
a loopback server that throttles every connection.

    .venv/bin/python benchmarks/bench_prepare.py            # 5 archives of 100-300 MB (1 GB), 8 MB/s a connection
    .venv/bin/python benchmarks/bench_prepare.py --small    # 4 archives of 15-30 MB (90 MB), 2 MB/s a connection
    [--connections N] [--rate-mb R] [--repeat N] [--tmp DIR]

Each archive is a stored zip of 100 KB files of random bytes (the shape of an image zip), with its size and
sha256 in the catalog. Both ways run the same ``python -m llavamix`` commands with their defaults (start-up
included), each into a fresh root, alternating which goes first when repeated; the best time of each counts.
The server runs in its own process (``--serve``), so it shares no interpreter lock with the timing.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import loopback  # benchmarks/loopback.py, beside this script

REPO = Path(__file__).resolve().parent.parent
MB = 1_000_000
MEMBER = 100 * 1000  # bytes of one member: an image's size (COCO averages 160 KB, the 558K images 50 KB)
STEP = 64 << 10  # bytes the server sends between its pauses


def make_archives(folder: Path, sizes_mb: list[int]) -> list[tuple[str, int, str]]:
    """One stored zip per size, of random members; returns (name, size, sha256) of each."""
    pool = os.urandom(16 << 20)  # slices of one random pool: members differ, and generating costs little
    out = []
    for i, size_mb in enumerate(sizes_mb):
        name = f"part{i}"
        path = folder / f"{name}.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zf:
            for j in range(size_mb * MB // MEMBER):
                at = (j * 7919 * 64) % (len(pool) - MEMBER)
                zf.writestr(f"{name}/{j // 1000:05d}/{j:09d}.jpg", pool[at : at + MEMBER])
        out.append((name, path.stat().st_size, _sha256(path)))
    return out


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def write_catalog(path: Path, base: str, archives: list[tuple[str, int, str]]) -> None:
    tables = [
        f'[[source]]\nname = "{name}"\nurl = "{base}/{name}.zip"\nsize = {size}\nsha256 = "{digest}"\n'
        f'archive = "zip"\ninto = "{name}"\n'
        for name, size, digest in archives
    ]
    path.write_text("\n".join(tables))


def serve(root: Path, rate: float) -> None:
    """Serve ``root`` at ``rate`` bytes a second per connection (prints the URL first); runs until killed."""
    sys.path.insert(0, str(REPO))
    from tests.httpserver import Fault, LoopbackServer

    server = LoopbackServer(root=root)
    for file in root.iterdir():
        server.fault(f"/{file.name}", Fault(trickle=STEP / rate, trickle_chunk=STEP, repeat=True))
    print(server.base, flush=True)
    server.httpd.serve_forever()


def llavamix(*args: str | Path) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "llavamix", *map(str, args)],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    if done.returncode != 0:
        raise SystemExit(f"llavamix {args[0]} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def overlapped(catalog: Path, root: Path, extra: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    out = llavamix("prepare", "--catalog", catalog, "--root", root, *extra)
    return time.perf_counter() - start, _phases(out)


def in_sequence(catalog: Path, root: Path, extra: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    llavamix("fetch", "--catalog", catalog, "--root", root, *extra)
    out = llavamix("prepare", "--catalog", catalog, "--root", root, *extra)
    return time.perf_counter() - start, _phases(out)


def _phases(summary: str) -> str:
    """The summary's line on the phases' times."""
    line = next((ln for ln in summary.splitlines() if ln.startswith("wall time")), "")
    return " ".join(line.split())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--small", action="store_true", help="4 archives of 15-30 MB at 2 MB/s a connection")
    ap.add_argument("--rate-mb", type=float, help="MB/s per connection (default 8, or 2 with --small)")
    ap.add_argument("--connections", type=int, help="passed to llavamix (default: its own)")
    ap.add_argument("--repeat", type=int, default=1, help="runs of each way; the best is reported")
    ap.add_argument("--tmp", type=Path, help="folder for the archives and the roots (default: the system's)")
    ap.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--rate", type=float, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.serve is not None:
        return serve(args.serve, args.rate)
    sizes = [30, 25, 20, 15] if args.small else [300, 250, 200, 150, 100]
    rate = (args.rate_mb or (2.0 if args.small else 8.0)) * MB
    with tempfile.TemporaryDirectory(prefix="bench_prepare_", dir=args.tmp) as tmp:
        work = Path(tmp)
        (work / "served").mkdir()
        archives = make_archives(work / "served", sizes)
        served = ("--serve", str(work / "served"), "--rate", str(rate))
        server, base = loopback.start_server(*served, script=Path(__file__))
        try:
            catalog = work / "catalog.toml"
            write_catalog(catalog, base, archives)
            extra = ["--connections", str(args.connections)] if args.connections else []
            best = bench(catalog, work, args.repeat, extra)
        finally:
            server.terminate()
            server.wait()
    report(best, sizes, rate)


def bench(catalog: Path, work: Path, repeat: int, extra: list[str]) -> dict[str, tuple[float, str]]:
    ways = {"fetch, then extract (in sequence)": in_sequence, "prepare (overlapped)": overlapped}
    best: dict[str, tuple[float, str]] = {}
    for i in range(repeat):
        order = list(ways.items()) if i % 2 == 0 else list(reversed(ways.items()))
        for name, way in order:
            root = work / f"root-{len(best)}-{i}"
            got = way(catalog, root, extra)
            subprocess.run(["rm", "-rf", str(root)], check=True)
            if name not in best or got[0] < best[name][0]:
                best[name] = got
    return best


def report(best: dict[str, tuple[float, str]], sizes: list[int], rate: float) -> None:
    total = sum(sizes)
    print(f"prepare of {len(sizes)} zip archives ({total} MB), served at {rate / MB:g} MB/s per connection")
    for name, (secs, phases) in best.items():
        print(f"  {name:36s} {secs:7.1f} s  {total / secs:6.1f} MB/s")
        if phases:
            print(f"    {phases}")
    seq, ovl = best["fetch, then extract (in sequence)"][0], best["prepare (overlapped)"][0]
    print(f"  overlapped vs in sequence: {seq / ovl:.2f}x ({seq - ovl:.1f} s saved)")


if __name__ == "__main__":
    main()
