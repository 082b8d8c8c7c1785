"""Recipes: the behaviour of each kind of source, one module per kind (``archive``, ``mix_json``,
``vqa_collection``, ``sam``, ``ocrvqa``), wired to the catalog's registry of kinds by one table (``RECIPES``).

A recipe says how a source is fetched (its fetch hook), how its download is laid out (its step), and when a rerun
may skip it. This is a composition layer: it may import the stages it composes (fetch, extract), the catalog and
the foundation; ``prepare`` runs it, and no stage imports it.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llavamix.recipes.base import Context, Recipe
    from llavamix.recipes.table import RECIPES, is_done, is_fetched, recipe_for, run_fetch, run_lay_out
else:  # each name above is imported on first use, so importing the package costs nothing
    from llavamix.foundation.lazy import lazy_exports

    __getattr__, __dir__, __all__ = lazy_exports(__name__)
