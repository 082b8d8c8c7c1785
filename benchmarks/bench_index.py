"""Benchmark: open + random access of a synthetic mix through the llavamix index vs ``json.load``.

Builds a synthetic mix (default 1M records, ~1.6 GB), indexes it, then for each reader starts a fresh process that
opens the mix, touches random records, and forks 4 workers that each touch their own random records (like
DataLoader workers). Memory comes from /proc/<pid>/smaps_rollup: RSS, USS (private pages: what copy-on-write
grows) and PSS (shared pages split between processes).

    python benchmarks/bench_index.py [--records N | --small] [--workers 4] [--touch 20000] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from synthetic import make_mix

from llavamix.index import IndexOptions, build_index

HERE = Path(__file__).resolve()


def memory() -> dict[str, float]:
    """RSS, USS and PSS of this process in MB."""
    fields: dict[str, int] = {}
    with open("/proc/self/smaps_rollup") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) >= 3 and parts[2] == "kB":
                fields[parts[0].rstrip(":")] = int(parts[1])
    uss = fields.get("Private_Clean", 0) + fields.get("Private_Dirty", 0)
    return {"rss": fields["Rss"] / 1024, "uss": uss / 1024, "pss": fields["Pss"] / 1024}


def open_reader(kind: str, path: str):  # type: ignore[no-untyped-def]
    """A callable ``touch(i)`` that reads record ``i`` the way training would, and the record count."""
    if kind == "json":
        with open(path) as fh:
            data = json.load(fh)  # what the reference LazySupervisedDataset does

        def touch(i: int) -> int:
            rec = data[i]
            return len(rec["conversations"]) + ("image" in rec)

        return touch, len(data)
    from llavamix.foundation.formats.index import open_index

    index = open_index(path)

    def touch(i: int) -> int:
        rec = index.value(i)
        return len(rec["conversations"]) + ("image" in rec)

    index.lengths  # noqa: B018 -- the sampler reads these once per process
    return touch, len(index)


def child(kind: str, path: str, workers: int, n_touch: int) -> None:
    """Runs in a fresh process: open, touch, fork workers that touch; prints one JSON line of figures."""
    t0 = time.perf_counter()
    touch, n = open_reader(kind, path)
    opened = time.perf_counter() - t0
    rng = random.Random(0)
    t0 = time.perf_counter()
    for _ in range(n_touch):
        touch(rng.randrange(n))
    access_us = (time.perf_counter() - t0) / n_touch * 1e6
    parent_mem = memory()
    pipes = []
    for w in range(workers):
        r, wfd = os.pipe()
        if os.fork() == 0:
            os.close(r)
            wrng = random.Random(w + 1)
            for _ in range(n_touch):
                touch(wrng.randrange(n))
            os.write(wfd, json.dumps(memory()).encode())
            os._exit(0)
        os.close(wfd)
        pipes.append(r)
    worker_mem = []
    for r in pipes:
        worker_mem.append(json.loads(os.read(r, 4096)))
        os.close(r)
    for _ in pipes:
        os.wait()
    print(json.dumps({"open_s": opened, "access_us": access_us, "parent": parent_mem, "workers": worker_mem}))


def measure(kind: str, path: Path, workers: int, n_touch: int) -> dict:
    cmd = [sys.executable, str(HERE), "--child", kind, str(path), "--workers", str(workers), "--touch", str(n_touch)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def row(name: str, m: dict) -> str:
    w = m["workers"]
    mean = {k: sum(x[k] for x in w) / len(w) for k in ("rss", "uss", "pss")} if w else {"rss": 0, "uss": 0, "pss": 0}
    total_pss = m["parent"]["pss"] + sum(x["pss"] for x in w)
    return (
        f"{name:<8} {m['open_s']:>8.2f} {m['access_us']:>9.1f} {m['parent']['rss']:>9.0f} {m['parent']['uss']:>9.0f}"
        f" {mean['rss']:>9.0f} {mean['uss']:>9.0f} {total_pss:>10.0f}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--small", action="store_true", help="20,000 records: a quick check")
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--touch", type=int, default=20_000, help="random records each process reads")
    ap.add_argument("--jobs", type=int, default=2, help="index build processes")
    ap.add_argument("--work", type=Path, default=None, help="scratch folder (default: a temp dir)")
    ap.add_argument("--child", nargs=2, metavar=("KIND", "PATH"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], args.child[1], args.workers, args.touch)
        return
    n = 20_000 if args.small else args.records
    work = Path(tempfile.mkdtemp(prefix="bench-index-", dir=args.work))
    try:
        run(work, n, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(work: Path, n: int, args: argparse.Namespace) -> None:
    mix = make_mix(work / "mix.json", n)
    print(f"mix: {n:,} records, {mix.stat().st_size / 1e6:,.0f} MB")
    report = build_index(mix, work / "mix.idx", IndexOptions(jobs=args.jobs))
    print(f"build index (jobs={args.jobs}): {report.seconds:.1f}s, {report.bytes / 1e6:,.0f} MB")
    touch = min(args.touch, n)
    print(f"\nopen + {touch:,} random records per process, then {args.workers} forked workers x {touch:,} records")
    print(
        f"{'reader':<8} {'open s':>8} {'us/rec':>9} {'RSS MB':>9} {'USS MB':>9} {'wRSS MB':>9} {'wUSS MB':>9}"
        f" {'PSS tot':>10}"
    )
    index = measure("index", work / "mix.idx", args.workers, touch)
    print(row("index", index))
    baseline = measure("json", mix, args.workers, touch)
    print(row("json", baseline))
    w_uss = lambda m: sum(x["uss"] for x in m["workers"]) / max(1, len(m["workers"]))  # noqa: E731
    print(
        f"\njson.load / index: open {baseline['open_s'] / index['open_s']:.1f}x slower, "
        f"RSS {baseline['parent']['rss'] / index['parent']['rss']:.1f}x larger, "
        f"per-worker private (copy-on-write) memory {w_uss(baseline) / max(1e-9, w_uss(index)):.0f}x larger"
    )
    print("(w* = mean per forked worker; USS = private pages; PSS tot = parent + workers, shared pages split)")


if __name__ == "__main__":
    main()
