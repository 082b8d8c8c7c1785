"""The mix index stage: ``build_index`` decodes a mix JSON in batches (in worker processes) and writes its
memory-mappable index for training.

The file format (columns, writer, ``open_index``) is ``llavamix.foundation.formats.index``'s, so the loader reads
it without importing this stage. Imports the foundation (formats, records, io, tasks, errors) only.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llavamix.index.build import IndexOptions, IndexReport, build_index
else:  # each name above is imported on first use, so importing the package costs nothing
    from llavamix.foundation.lazy import lazy_exports

    __getattr__, __dir__, __all__ = lazy_exports(__name__)
