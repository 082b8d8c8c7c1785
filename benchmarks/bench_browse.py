"""Benchmark: ``llavamix browse`` on a synthetic mix (default 1M records): opening the mix, the first list page,
the page of a far record (987,654, as the issue asks), a filtered list page and a text search page, each warm,
beside the baseline a script without the index pays: ``json.load`` of the mix, then indexing into the list.

The index is built first (not timed: browse builds it once per mix). Pages are answered by the browser's own
router (``Browser.answer``), the same call the HTTP handler makes; one HTTP round trip is timed too.

    python benchmarks/bench_browse.py [--records N | --small] [--work DIR] [--repeat 20]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from synthetic import make_mix

from llavamix.browse import BrowseOptions, make_server, open_browser
from llavamix.index import IndexOptions, build_index


def timed(fn: Callable[[], object], repeat: int) -> float:
    """Median wall time of ``fn`` in ms over ``repeat`` warm calls (one unmeasured call first)."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def check(answer: object) -> None:
    if getattr(answer, "status", 200) != 200:
        raise RuntimeError(f"page failed: {answer}")


def bench_browse(mix: Path, root: Path, repeat: int) -> dict[str, float]:
    t0 = time.perf_counter()
    browser = open_browser(mix, root, BrowseOptions(cache=mix.parent / "cache"))
    first = browser.answer("/")
    out = {"open + first page ms": (time.perf_counter() - t0) * 1000}
    check(first)
    far = min(987_654, len(browser.index) - 1)
    rng = random.Random(0)
    pages = {
        "list page ms": "/",
        f"record {far} ms": f"/record/{far}",
        "random record ms": None,
        "filtered page (source=gqa, page 10) ms": "/?source=gqa&page=10",
        "filtered page (prefix, page 1000) ms": "/?prefix=allava_vflan/&page=1000",
        "text search page ms": "/?text=answer+the+question",
    }

    def record_or(url: str | None) -> str:
        return url or f"/record/{rng.randrange(len(browser.index))}"

    for label, url in pages.items():
        out[label] = timed(lambda u=url: check(browser.answer(record_or(u))), repeat)
    server = make_server(browser, 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    far_url = f"{server.url}record/{far}"
    out[f"HTTP GET /record/{far} ms"] = timed(lambda: urllib.request.urlopen(far_url).read(), repeat)
    server.shutdown()
    return out


def bench_baseline(mix: Path) -> dict[str, float]:
    t0 = time.perf_counter()
    with open(mix) as fh:
        data = json.load(fh)
    loaded = (time.perf_counter() - t0) * 1000
    far = min(987_654, len(data) - 1)
    t0 = time.perf_counter()
    data[far]["conversations"]
    return {"json.load ms": loaded, "json.load + record ms": loaded + (time.perf_counter() - t0) * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--small", action="store_true", help="20,000 records (a quick check)")
    parser.add_argument("--work", type=Path, default=None, help="folder for the mix (default: a temporary one)")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    n = 20_000 if args.small else args.records
    work = args.work or Path(tempfile.mkdtemp(prefix="bench_browse_"))
    root = work / "data"
    root.mkdir(parents=True, exist_ok=True)
    try:
        mix = work / "mix.json"
        if not mix.exists():
            make_mix(mix, n)
        build_index(mix, mix.with_suffix(".idx"), IndexOptions(jobs=2))
        figures = {"records": n, **bench_browse(mix, root, args.repeat), **bench_baseline(mix)}
        figures["ratio json.load+record / browse open+first page"] = round(
            figures["json.load + record ms"] / figures["open + first page ms"], 1
        )
        print(json.dumps({k: round(v, 1) if isinstance(v, float) else v for k, v in figures.items()}, indent=1))
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
