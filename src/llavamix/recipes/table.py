"""The one table that wires each kind of the catalog's registry to its recipe, and the calls a run makes through
it: fetch a source, lay it out, tell whether it is done or has nothing left to fetch."""

from __future__ import annotations

from pathlib import Path

from llavamix import extract, fetch
from llavamix.catalog import Source, kind_of
from llavamix.recipes import archive, mix_json, ocrvqa, sam, vqa_collection
from llavamix.recipes.base import Context, Recipe

RECIPES: dict[str, Recipe] = {
    r.kind.name: r for r in (archive.RECIPE, mix_json.RECIPE, vqa_collection.RECIPE, sam.RECIPE, ocrvqa.RECIPE)
}


def recipe_for(source: Source) -> Recipe:
    """The recipe of ``source``'s kind; ConfigError when the kind is unknown or does not fit the source."""
    return RECIPES[kind_of(source).name]


def run_fetch(source: Source, ctx: Context) -> fetch.Fetched:
    """Bring the source's download (and whatever its recipe fetches beyond it)."""
    return recipe_for(source).fetch(source, ctx)


def run_lay_out(source: Source, download: Path, ctx: Context) -> extract.Extracted:
    """Lay the download out under the data root with the recipe's step, markers and all."""
    return extract.extract_source(source, download, ctx.layout, ctx.extract_options, recipe_for(source).lay_out)


def is_done(source: Source, ctx: Context) -> bool:
    return recipe_for(source).is_done(source, ctx)


def is_fetched(source: Source, ctx: Context) -> bool:
    """Fetching ``source`` would transfer nothing: its download is there, verified."""
    return recipe_for(source).is_fetched(source, ctx)
