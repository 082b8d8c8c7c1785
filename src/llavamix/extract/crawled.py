"""The lay-out step of a crawled source (OCR-VQA): the fetch stage crawled the images straight into the source's
folder, so extraction only takes stock of them (files, bytes), for the completion marker that vouches for them."""

from __future__ import annotations

import os
from pathlib import Path

from llavamix.catalog import Source
from llavamix.extract.model import Extracted, ExtractOptions
from llavamix.foundation.io import PART_SUFFIX
from llavamix.foundation.layout import Layout


def take_stock(source: Source, index: Path, layout: Layout, options: ExtractOptions) -> Extracted:
    """Count the crawled images of ``source``; ``index`` (its dataset.json) is left to the caller."""
    folder = layout.target(source.into)
    files = size = 0
    if folder.is_dir():
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_file() and not entry.name.endswith(PART_SUFFIX):
                    files += 1
                    size += entry.stat().st_size
    return Extracted(source.name, files, size, [source.into])
