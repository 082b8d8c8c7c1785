"""The fetch stage: download every source (http(s)://, hf://, file://) resumably, verify it, mark it done."""

from llavamix.fetch.limiter import HostLimiter
from llavamix.fetch.options import Fetched, FetchOptions, FetchReport
from llavamix.fetch.sources import fetch_source, fetch_sources, is_fetched

__all__ = ["FetchOptions", "FetchReport", "Fetched", "HostLimiter", "fetch_source", "fetch_sources", "is_fetched"]
