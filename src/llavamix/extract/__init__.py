"""Extraction: lay each download out under the data root (zip, tar, tar.gz or a plain file), safely and resumably.

``extract_source`` runs the lay-out step it is given (the composition layer's recipes pick one per kind: the plain
``lay_out_archive``, ``extract_sam``, ``extract_vqa_collection``, ``take_stock``), refuses unsafe and colliding
members before writing anything, checks disk space (in filesystem blocks and inodes), writes every file through a
temporary name and writes a marker last. Imports the catalog and the foundation only.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llavamix.extract.archives import listed_bytes
    from llavamix.extract.claims import Claims
    from llavamix.extract.crawled import take_stock
    from llavamix.extract.marker import is_extracted, read_extracted
    from llavamix.extract.mirror import MirrorLaid, Normalise, lay_out_mirror
    from llavamix.extract.model import Extracted, ExtractOptions
    from llavamix.extract.place import place_file
    from llavamix.extract.run import Step, extract_source, lay_out_archive
    from llavamix.extract.sam import extract_sam
    from llavamix.extract.vqa_collection import extract_vqa_collection
else:  # each name above is imported on first use, so importing the package costs nothing
    from llavamix.foundation.lazy import lazy_exports

    __getattr__, __dir__, __all__ = lazy_exports(__name__)
