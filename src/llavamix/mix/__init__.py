"""Mixes: the fix-ups of the laid-out data (folder aliases the mix and the training scripts expect, the
pretraining JSON with full image paths) and the mix builder (``build_mix``: a recipe's inputs, filtered,
deduplicated, capped and weighted, into a new mix with its manifest and provenance). A stage: imports the catalog
and the foundation only, never another stage."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llavamix.mix.add_path import AddPath, write_add_path
    from llavamix.mix.aliases import Alias, make_alias
    from llavamix.mix.build import BuildOptions, build_mix
    from llavamix.mix.manifest import BuildReport, InputCounts, SelectCounts, sidecar_paths
    from llavamix.mix.recipe import Input, LoadedRecipe, Recipe, load_recipe
    from llavamix.mix.spellings import fix_spellings, needed_folders
else:  # each name above is imported on first use, so importing the package costs nothing
    from llavamix.foundation.lazy import lazy_exports

    __getattr__, __dir__, __all__ = lazy_exports(__name__)
