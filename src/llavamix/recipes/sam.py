"""The ``sam`` recipe: the SAM subset's archive has an undocumented layout; its one folder of ``sa_<n>.jpg`` files
is found and landed flat in ``into``."""

from llavamix import extract
from llavamix.catalog import kinds
from llavamix.recipes.base import Recipe

RECIPE = Recipe(kinds.SAM, extract.extract_sam)
