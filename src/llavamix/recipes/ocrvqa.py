"""The ``ocrvqa`` recipe: the download is an image index (dataset.json); its fetch hook crawls the images the
mixes under the root reference, together (every key with ``--all``, or when no mix is laid out), into ``into``,
and the lay-out step only takes stock of them. The catalog's ``needs_one_of`` puts the mixes first; the keys reach
the fetch stage as a parameter, which never reads a mix itself. A crawl marker names the mixes served: a mix laid
out later makes the source run again for its own keys."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path, PurePosixPath

import msgspec

from llavamix import extract, fetch
from llavamix.catalog import Source, kinds
from llavamix.foundation.formats.markers import read_marker, write_marker
from llavamix.foundation.records import iter_images
from llavamix.recipes.base import Context, Recipe, fetch_file, laid_out
from llavamix.recipes.mix_json import laid_out_mixes

CRAWL_STAGE = "crawl"  # the marker of the crawl's last run: which mixes it served


def mix_keys(mixes: list[Path], into: str) -> Counter[str] | None:
    """How many records of ``mixes``, together, use each key's image (``<into>/<key>.jpg``); None without mixes."""
    if not mixes:
        return None
    prefix = into.strip("/") + "/"
    images = (image for mix in mixes for image in iter_images(mix))
    return Counter(PurePosixPath(image).stem for image in images if image.startswith(prefix))


def fetch_and_crawl(source: Source, ctx: Context) -> fetch.Fetched:
    """Fetch the index, then crawl the images of the keys the mixes use into the source's folder."""
    fetched = fetch_file(source, ctx)
    mixes = laid_out_mixes(ctx)  # every instruction mix under the root: the crawl serves them all
    job = fetch.CrawlJob(
        source=source.name,
        index=fetched.path,
        origin=source.url,
        target=ctx.layout.target(source.into),
        uses=mix_keys(mixes, source.into),
        report=ctx.layout.report(f"{source.name}_dead.json"),
    )
    crawl = fetch.crawl_ocrvqa(job, ctx.fetch_options)
    write_marker(ctx.layout.marker(source.name, CRAWL_STAGE), served(mixes, ctx))
    return replace(fetched, crawl=replace(crawl, mixes=tuple(mixes)))


class Served(msgspec.Struct, frozen=True):
    """What the crawl marker records: the mix JSONs (path under the root, size, mtime) whose keys were crawled."""

    mixes: list[tuple[str, int, int]]


def served(mixes: list[Path], ctx: Context) -> Served:
    stamps = [(m.relative_to(ctx.layout.root).as_posix(), *_identity(m)) for m in mixes]
    return Served(sorted(stamps))


def _identity(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


def crawled(source: Source, ctx: Context) -> bool:
    """Done once laid out by a crawl that served every mix now under the root (a mix laid out since, or changed,
    has keys of its own to fetch)."""
    if ctx.fetch_options.crawl.all_keys:
        return False  # a finished crawl of the mix's keys is not one of every key
    if not laid_out(source, ctx):
        return False
    last = read_marker(ctx.layout.marker(source.name, CRAWL_STAGE), Served)
    return last is not None and set(served(laid_out_mixes(ctx), ctx).mixes) <= set(last.mixes)


def never(source: Source, ctx: Context) -> bool:
    return False  # the crawl runs on every fetch: only it knows which images are still missing


RECIPE = Recipe(kinds.OCRVQA, extract.take_stock, fetch=fetch_and_crawl, is_done=crawled, is_fetched=never)
