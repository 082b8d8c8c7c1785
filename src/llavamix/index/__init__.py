"""The mix index stage: ``build_index`` writes a memory-mappable Arrow index of a mix JSON for training.

Reading an index lives in the foundation (``llavamix.records.index.open_index``) so the loader can use it.
"""

from llavamix.index.build import IndexOptions, IndexReport, build_index

__all__ = ["IndexOptions", "IndexReport", "build_index"]
