"""The ``ocrvqa`` recipe: the download is an image index (dataset.json); its fetch hook crawls the images the
mixes under the root reference, together (every key with ``--all``, or when no mix is laid out), into ``into``,
and the lay-out step only takes stock of them. The catalog's ``needs_one_of`` puts the mixes first; the keys reach
the fetch stage as a parameter, which never reads a mix itself. A crawl marker names the mixes served: a mix laid
out later makes the source run again for its own keys.

A source with a ``mirror`` (a zip of the images, e.g. the community's upload on the Hub) has it fetched and laid out
first, every image normalised by the crawl's own function, so that the crawl fetches only the keys it lacks; a
mirror marker (the keys it held) makes a rerun skip it. ``CrawlOptions.mirror`` False (``--no-mirror``) ignores it."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path, PurePosixPath

import msgspec

from llavamix import extract, fetch
from llavamix.catalog import Source, kinds
from llavamix.foundation.formats.markers import read_marker, write_marker
from llavamix.foundation.layout import component_problem
from llavamix.foundation.records import iter_images
from llavamix.recipes.base import Context, Recipe, fetch_file, laid_out
from llavamix.recipes.mix_json import laid_out_mixes

CRAWL_STAGE = "crawl"  # the marker of the crawl's last run: which mixes it served
MIRROR_STAGE = "mirror"  # the marker of the mirror's lay-out: which keys it held


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
    mirrored = lay_out_mirror(source, ctx)
    mixes = laid_out_mixes(ctx)  # every instruction mix under the root: the crawl serves them all
    job = fetch.CrawlJob(
        source=source.name,
        index=fetched.path,
        origin=source.url,
        target=ctx.layout.target(source.into),
        uses=mix_keys(mixes, source.into),
        report=ctx.layout.report(f"{source.name}_dead.json"),
        mirrored=None if mirrored is None else frozenset(mirrored.keys),
    )
    crawl = fetch.crawl_ocrvqa(job, ctx.fetch_options)
    write_marker(ctx.layout.marker(source.name, CRAWL_STAGE), served(mixes, ctx))
    return replace(fetched, crawl=replace(crawl, mixes=tuple(mixes)))


class Mirrored(msgspec.Struct, frozen=True):
    """What the mirror marker records: the mirror's URL and the keys whose image it laid out."""

    url: str
    keys: list[str]


def lay_out_mirror(source: Source, ctx: Context) -> Mirrored | None:
    """Fetch the source's mirror and land its images (once: a marker records the keys); None without a mirror."""
    if not source.mirror or not ctx.fetch_options.crawl.mirror:
        return None
    marker = ctx.layout.marker(source.name, MIRROR_STAGE)
    done = read_marker(marker, Mirrored)
    if done is not None and done.url == source.mirror:
        return done
    mirror = mirror_source(source)
    fetch.check_url(mirror)
    got = fetch.fetch_source(mirror, ctx.layout, ctx.fetch_options, limiter=ctx.limiter)
    target = ctx.layout.target(source.into)
    laid = extract.lay_out_mirror(got.path, target, normalise, ctx.extract_options, mirror.name)
    done = Mirrored(source.mirror, sorted(laid.keys))
    write_marker(marker, done, flush=target)
    if not ctx.extract_options.keep_archive:
        got.path.unlink(missing_ok=True)  # its images are in place; the marker keeps a rerun from fetching it
    return done


def mirror_source(source: Source) -> Source:
    """The mirror as a source of its own: its download has a folder and a fetch marker of its own."""
    name = PurePosixPath(source.mirror.split("?")[0]).name
    filename = name if name.endswith(".zip") and component_problem(name) is None else "mirror.zip"
    return Source(
        name=f"{source.name}-mirror",
        title=f"{source.title} (mirror)",
        url=source.mirror,
        filename=filename,
        into=source.into,
        archive="zip",
    )


def normalise(data: bytes) -> bytes | None:
    """A mirror's image exactly as the crawl lands it (real JPEGs as they are, others re-encoded); None when the
    bytes are no image, which leaves the key to the crawl."""
    try:
        return fetch.as_jpeg(data)[0]
    except fetch.NotAnImage:
        return None


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
