"""The ``vqa_collection`` recipe: one archive of several dataset folders (the source's ``image_prefixes``), each
landing under the root with its own name, under at most one wrapper folder."""

from llavamix import extract
from llavamix.catalog import kinds
from llavamix.recipes.base import Recipe

RECIPE = Recipe(kinds.VQA_COLLECTION, extract.extract_vqa_collection)
