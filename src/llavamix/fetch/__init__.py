"""The fetch stage: download every source (http(s)://, hf://, gdrive://, file://) resumably, verify it, mark it
done; crawl the images of an image index (OCR-VQA) into the folder and for the keys its caller names.

A stage: imports the catalog and the foundation only, never another stage."""

from llavamix.fetch.limiter import HostLimiter
from llavamix.fetch.ocrvqa import CrawlJob, crawl_ocrvqa
from llavamix.fetch.options import CrawlOptions, CrawlReport, Fetched, FetchOptions, FetchReport, Pace
from llavamix.fetch.sources import FetchOne, fetch_source, fetch_sources, is_fetched

__all__ = [
    "CrawlJob",
    "CrawlOptions",
    "CrawlReport",
    "FetchOne",
    "FetchOptions",
    "FetchReport",
    "Fetched",
    "HostLimiter",
    "Pace",
    "crawl_ocrvqa",
    "fetch_source",
    "fetch_sources",
    "is_fetched",
]
