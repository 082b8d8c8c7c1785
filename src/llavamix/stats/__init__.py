"""Describe a mix: composition per source, turns, the training sampler's lengths, image sizes and visual tokens.

A stage: imports the catalog (for the default image prefixes) and the foundation only, never another stage."""

from llavamix.stats.compute import StatsOptions, compute_stats
from llavamix.stats.html import write_html
from llavamix.stats.report import SourceStats, StatsReport

__all__ = ["SourceStats", "StatsOptions", "StatsReport", "compute_stats", "write_html"]
