"""Fetching catalog sources' files: scheme dispatch, the completion marker, adopting hand-placed files, parallel
runs (through a per-source hook, so that a recipe may do more than fetch the file)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from llavamix.catalog import Source
from llavamix.fetch import segments
from llavamix.fetch.download import download, manual_route
from llavamix.fetch.limiter import HostLimiter
from llavamix.fetch.options import Fetched, FetchOptions, FetchReport
from llavamix.fetch.part import validator_path
from llavamix.fetch.remote import Expected, Refused, Remote
from llavamix.foundation.errors import ChecksumError, FetchError
from llavamix.foundation.formats.markers import Downloaded, read_marker, write_marker
from llavamix.foundation.io import ensure_writable, new_hasher, part_path, update_from_file
from llavamix.foundation.layout import Layout
from llavamix.foundation.tasks import CANCEL, run_tasks

log = logging.getLogger(__name__)

STAGE = "fetch"
DEFAULTS = FetchOptions()


FetchOne = Callable[[Source, HostLimiter], Fetched]

# URL scheme -> the module of this package whose ``remote(source, options)`` opens such a source, imported on first
# use: the Hub's and Drive's clients take a fifth of a second to import, which a plain download need not wait for
OPENERS: dict[str, str] = {"http": "http", "https": "http", "file": "local", "hf": "hub", "gdrive": "gdrive"}


def opener(scheme: str) -> Callable[[Source, FetchOptions], Remote]:
    name = f"{__package__}.{OPENERS[scheme]}"
    __import__(name)  # the import statement's own path, so that ``python -X importtime`` shows it
    opens: Callable[[Source, FetchOptions], Remote] = sys.modules[name].remote
    return opens


# scheme -> the module whose ``parse`` checks the form of such a URL, without the network
PARSERS: dict[str, str] = {"hf": "hub", "gdrive": "gdrive"}


def check_url(source: Source) -> None:
    """ConfigError when ``source.url`` is malformed for its scheme: checked for every source before any transfer
    starts, so a typo in one source stops a run before the others begin."""
    name = PARSERS.get(source.scheme)
    if name is not None:
        module = f"{__package__}.{name}"
        __import__(module)
        sys.modules[module].parse(source.url)


def is_fetched(source: Source, layout: Layout) -> bool:
    """The verified file and its completion marker exist (and agree on the size)."""
    return _present(source, layout) is not None


def fetch_source(
    source: Source, layout: Layout, options: FetchOptions = DEFAULTS, *, limiter: HostLimiter | None = None
) -> Fetched:
    """Bring one source's file to its downloads path, verified; raises FetchError (or ChecksumError).

    Only the file: what a recipe does with it beyond that (OCR-VQA crawls the images its index lists) is the
    recipe's own fetch hook (``llavamix.recipes``), which calls this first.
    """
    limiter = limiter or HostLimiter(default=options.host_connections)
    present = _present(source, layout)
    if present is not None:
        return present
    dest = layout.download_path(source.name, source.file_name)
    try:
        remote = opener(source.scheme)(source, options)
    except Refused as exc:
        raise FetchError(f"{exc}; {manual_route(source.url, dest)}") from None
    expected = _expected(source, remote)
    if dest.exists():
        fetched = adopt(source, dest, expected, options)
    else:
        landed = download(remote, dest, expected, options, key=source.name, limiter=limiter)
        fetched = Fetched(source.name, dest, landed.size, "resumed" if landed.resumed else "downloaded", landed.digest)
    _write_marker(layout.marker(source.name, STAGE), fetched)
    log.info("%s: %s %s (%d bytes)", source.name, fetched.how, dest, fetched.size)
    return fetched


def fetch_sources(
    sources: Sequence[Source],
    layout: Layout,
    options: FetchOptions = DEFAULTS,
    host_caps: Mapping[str, int] | None = None,
    *,
    fetch_one: FetchOne | None = None,
) -> FetchReport:
    """Fetch every source, ``options.jobs`` at a time; one source's failure is reported (the exception it raised),
    never raised, except what stops the whole run (a ConfigError, a full disk).

    ``fetch_one(source, limiter)`` fetches one source (default: its file, ``fetch_source``); the composition layer
    passes the recipes' fetch hooks. An unwritable downloads folder is a ConfigError raised before any download.
    """
    ensure_writable(layout.downloads_dir, "downloads folder")
    limiter = HostLimiter(host_caps, options.host_connections)
    one = fetch_one or (lambda source, lim: fetch_source(source, layout, options, limiter=lim))
    outcome = run_tasks(sources, lambda s: one(s, limiter), key=lambda s: s.name, jobs=options.jobs)
    return FetchReport([o.value for o in outcome.done if o.value is not None], outcome.failures)


def _expected(source: Source, remote: Remote) -> Expected:
    """The catalog's size and checksum, else what the remote says (e.g. the Hub's LFS sha256)."""
    size = source.size if source.size is not None else remote.expected.size
    return Expected(size, source.checksum or remote.expected.checksum)


def _present(source: Source, layout: Layout) -> Fetched | None:
    done = read_marker(layout.marker(source.name, STAGE), Downloaded)
    if done is None:
        return None
    dest = layout.download_path(source.name, source.file_name)
    try:
        size = dest.stat().st_size
    except OSError:
        return None
    return Fetched(source.name, dest, size, "present", done.digest) if done.size == size else None


def _write_marker(marker: Path, fetched: Fetched) -> None:
    write_marker(marker, Downloaded(fetched.path.name, fetched.size, fetched.digest, fetched.how))


def adopt(source: Source, dest: Path, expected: Expected, options: FetchOptions) -> Fetched:
    """Accept a file the user put at ``dest`` by hand once its size and checksum pass; set it aside otherwise."""
    size = dest.stat().st_size
    problem, digest = "", None
    if expected.size is not None and size != expected.size:
        problem = f"{size} bytes where {expected.size} were expected"
    elif expected.checksum is not None:
        algo, want = expected.checksum
        got = _hash_with_progress(dest, algo, source.name, options)
        digest = f"{algo}:{got}"
        problem = "" if got == want else f"{algo} {got} where {want} was expected"
    if problem:
        aside = _set_aside(dest)
        raise ChecksumError(
            f"{dest} was already there but has {problem}; moved it to {aside} (not deleted); "
            f"rerun to download {source.url}, or put the right file at {dest}"
        )
    if expected.size is None and expected.checksum is None:
        log.warning("%s: adopting %s unchecked: the catalog gives no size or checksum", source.name, dest)
    part_path(dest).unlink(missing_ok=True)  # a stale partial download is no longer needed
    validator_path(dest).unlink(missing_ok=True)
    segments.remove(dest)
    return Fetched(source.name, dest, size, "adopted", digest)


def _hash_with_progress(path: Path, algo: str, key: str, options: FetchOptions) -> str:
    h = new_hasher(algo)
    options.progress.start(key, path.stat().st_size, "B")
    try:
        # Ctrl-C must not wait for a hand-placed 30 GB file to be hashed
        update_from_file(h, path, check=CANCEL.check, hashed=lambda n: options.progress.advance(key, n))
    finally:
        options.progress.finish(key)
    return h.hexdigest()


def _set_aside(path: Path) -> Path:
    """Rename ``path`` to ``<name>.rejected`` (``.rejected.2``... if taken) and return the new name."""
    aside = path.with_name(path.name + ".rejected")
    n = 1
    while aside.exists():
        n += 1
        aside = path.with_name(f"{path.name}.rejected.{n}")
    path.replace(aside)
    return aside
