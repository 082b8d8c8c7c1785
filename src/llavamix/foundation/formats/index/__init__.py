"""The mix index file (``llavamix index``): one uncompressed Arrow IPC file whose record batches hold every mix
record's exact JSON bytes plus columns derived from it (id, image, the sampler's lengths).

``schema`` names the columns, ``writer`` fills them, ``reader`` maps the file for zero-copy random access.
"""

from llavamix.foundation.formats.index.reader import MixIndex, open_index
from llavamix.foundation.formats.index.schema import INDEX_FORMAT, INDEX_VERSION, index_schema
from llavamix.foundation.formats.index.writer import IndexColumns, IndexWriter, open_writer

__all__ = [
    "INDEX_FORMAT",
    "INDEX_VERSION",
    "IndexColumns",
    "IndexWriter",
    "MixIndex",
    "index_schema",
    "open_index",
    "open_writer",
]
