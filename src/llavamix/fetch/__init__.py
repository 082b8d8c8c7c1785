"""The fetch stage: download every source (http(s)://, hf://, gdrive://, file://) resumably, verify it, mark it
done; crawl the images of an image index (OCR-VQA)."""

from llavamix.fetch.limiter import HostLimiter
from llavamix.fetch.options import CrawlOptions, CrawlReport, Fetched, FetchOptions, FetchReport, Pace
from llavamix.fetch.sources import fetch_source, fetch_sources, is_fetched

__all__ = [
    "CrawlOptions",
    "CrawlReport",
    "FetchOptions",
    "FetchReport",
    "Fetched",
    "HostLimiter",
    "Pace",
    "fetch_source",
    "fetch_sources",
    "is_fetched",
]
