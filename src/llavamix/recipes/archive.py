"""The ``archive`` recipe (the default kind): an archive unpacked into ``into`` with ``strip`` removed, or a plain
file placed there."""

from llavamix import extract
from llavamix.catalog import kinds
from llavamix.recipes.base import Recipe

RECIPE = Recipe(kinds.ARCHIVE, extract.lay_out_archive)
