"""The ``ocrvqa`` recipe: the download is an image index (dataset.json); its fetch hook crawls the images the
mixes under the root reference (every key with ``--all``, or when no mix is laid out) into ``into``, and the
lay-out step only takes stock of them. The catalog's ``needs`` puts the mix first; the keys reach the fetch stage
as a parameter, which never reads a mix itself."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import PurePosixPath

from llavamix import extract, fetch
from llavamix.catalog import Source, kinds
from llavamix.foundation.records import iter_images
from llavamix.recipes.base import Context, Recipe, fetch_file, laid_out
from llavamix.recipes.mix_json import laid_out_mixes


def mix_keys(ctx: Context, into: str) -> Counter[str] | None:
    """How many mix records use each key's image (``<into>/<key>.jpg``); None when no mix is laid out."""
    mixes = laid_out_mixes(ctx)
    if not mixes:
        return None
    prefix = into.strip("/") + "/"
    images = (image for mix in mixes for image in iter_images(mix))
    return Counter(PurePosixPath(image).stem for image in images if image.startswith(prefix))


def fetch_and_crawl(source: Source, ctx: Context) -> fetch.Fetched:
    """Fetch the index, then crawl the images of the keys the mixes use into the source's folder."""
    fetched = fetch_file(source, ctx)
    job = fetch.CrawlJob(
        source=source.name,
        index=fetched.path,
        origin=source.url,
        target=ctx.layout.target(source.into),
        uses=mix_keys(ctx, source.into),
        report=ctx.layout.report(f"{source.name}_dead.json"),
    )
    return replace(fetched, crawl=fetch.crawl_ocrvqa(job, ctx.fetch_options))


def crawled(source: Source, ctx: Context) -> bool:
    if ctx.fetch_options.crawl.all_keys:
        return False  # a finished crawl of the mix's keys is not one of every key
    return laid_out(source, ctx)


def never(source: Source, ctx: Context) -> bool:
    return False  # the crawl runs on every fetch: only it knows which images are still missing


RECIPE = Recipe(kinds.OCRVQA, extract.take_stock, fetch=fetch_and_crawl, is_done=crawled, is_fetched=never)
