"""Describe a mix: composition per source, turns, the training sampler's lengths, image sizes and visual tokens.

A stage: imports the catalog (for the default image prefixes) and the foundation only, never another stage."""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llavamix.stats.compute import StatsOptions, compute_stats
    from llavamix.stats.html import render_body, write_html
    from llavamix.stats.report import SourceStats, StatsReport
else:  # each name above is imported on first use, so importing the package costs nothing
    from llavamix.foundation.lazy import lazy_exports

    __getattr__, __dir__, __all__ = lazy_exports(__name__)
