"""What a recipe is (``Recipe``: a kind, its fetch hook, its lay-out step, when it is done, when its fetch has
nothing left to do) and what its steps are given (``Context``), with the hooks most recipes share: fetch the one
file, fetched once that file is, done once laid out."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from llavamix import extract, fetch
from llavamix.catalog import Catalog, Kind, Source
from llavamix.foundation.layout import Layout


@dataclass(frozen=True)
class Context:
    """One run's view for every recipe step: the catalog (a recipe may read what another source laid out), the
    data root and the options of the run; ``limiter`` caps connections per host across the run's sources."""

    catalog: Catalog
    layout: Layout
    fetch_options: fetch.FetchOptions = field(default_factory=fetch.FetchOptions)
    extract_options: extract.ExtractOptions = field(default_factory=extract.ExtractOptions)
    limiter: fetch.HostLimiter | None = None


FetchHook = Callable[[Source, Context], fetch.Fetched]
DoneHook = Callable[[Source, Context], bool]


def fetch_file(source: Source, ctx: Context) -> fetch.Fetched:
    """Download (or find, or adopt) the source's one file, verified."""
    return fetch.fetch_source(source, ctx.layout, ctx.fetch_options, limiter=ctx.limiter)


def file_fetched(source: Source, ctx: Context) -> bool:
    """The fetch hook has nothing left to do once the source's one file is downloaded and verified."""
    return fetch.is_fetched(source, ctx.layout)


def laid_out(source: Source, ctx: Context) -> bool:
    """Done once the lay-out step's marker is there."""
    return extract.is_extracted(source, ctx.layout)


@dataclass(frozen=True)
class Recipe:
    """The behaviour of one kind of source: ``fetch`` brings its download, ``lay_out`` puts it in place
    (``extract.extract_source`` runs it between the markers), ``is_done`` says a rerun may skip it, and
    ``is_fetched`` that its fetch would transfer nothing (a run lays it out without waiting for a download's
    turn)."""

    kind: Kind
    lay_out: extract.Step
    fetch: FetchHook = fetch_file
    is_done: DoneHook = laid_out
    is_fetched: DoneHook = file_fetched
