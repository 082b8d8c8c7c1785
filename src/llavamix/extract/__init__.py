"""Extraction: lay each download out under the data root (zip, tar, tar.gz or a plain file), safely and resumably.

``extract_source`` dispatches on the source's ``kind`` (see ``recipes.RECIPES``), refuses unsafe and colliding
members before writing anything, checks disk space (in filesystem blocks and inodes), writes every file through a
temporary name and writes a marker last.
"""

from llavamix.extract.marker import is_extracted, read_extracted
from llavamix.extract.model import Extracted, ExtractOptions
from llavamix.extract.recipes import RECIPES, extract_source

__all__ = ["RECIPES", "ExtractOptions", "Extracted", "extract_source", "is_extracted", "read_extracted"]
