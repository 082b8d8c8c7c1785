"""The ``mix_json`` recipe: the instruction mix JSON is one file placed in ``into``; the image paths it names are
what other recipes read (OCR-VQA crawls the keys they reference, ``laid_out_mixes``)."""

from __future__ import annotations

from pathlib import Path

from llavamix import extract
from llavamix.catalog import kinds
from llavamix.recipes.base import Context, Recipe

RECIPE = Recipe(kinds.MIX_JSON, extract.place_file)


def laid_out_mixes(ctx: Context) -> list[Path]:
    """The mix JSON files of the catalog's ``mix_json`` sources that are in place under the data root."""
    mixes = [s for s in ctx.catalog.sources if s.kind == RECIPE.kind.name]
    paths = [ctx.layout.target(s.into) / s.file_name for s in mixes]
    return [p for p in paths if p.is_file()]
