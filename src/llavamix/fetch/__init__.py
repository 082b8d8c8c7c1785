"""The fetch stage: download every source (http(s)://, hf://, gdrive://, file://) resumably, verify it, mark it
done; crawl the images of an image index (OCR-VQA) into the folder and for the keys its caller names.

A stage: imports the catalog and the foundation only, never another stage."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llavamix.fetch.jpeg import NotAnImage, as_jpeg
    from llavamix.fetch.limiter import HostLimiter
    from llavamix.fetch.ocrvqa import CrawlJob, crawl_ocrvqa
    from llavamix.fetch.options import CrawlOptions, CrawlReport, Fetched, FetchOptions, FetchReport, Pace, Split
    from llavamix.fetch.probe import SizeProbe, probe_size, probe_sizes
    from llavamix.fetch.sources import FetchOne, check_url, fetch_source, fetch_sources, is_fetched
else:  # each name above is imported on first use, so importing the package costs nothing
    from llavamix.foundation.lazy import lazy_exports

    __getattr__, __dir__, __all__ = lazy_exports(__name__)
