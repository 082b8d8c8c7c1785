"""``llavamix browse``: a local, read-only web app over a mix's index: a paged list with filters, a page per record
(its image, anyres grid, the conversation as the model sees it, its verify problems) and a summary with the stats
plots.

A composition layer beside ``llavamix.prepare``: it may import the stages (index builds the index when none is
found, stats draws the summary, loader renders the conversation template) and the foundation. One module per
concern: ``indexfile`` (which index, built where), ``problems`` (a verify report by record), ``query`` (filters over
the index), ``images`` (image bytes served safely), ``prompt`` (the conversation as training renders it), ``pages``
(HTML), ``summary`` (the stats page) and ``app`` (the server and its routes).
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llavamix.browse.app import BrowseOptions, Browser, BrowseServer, make_server, open_browser
    from llavamix.browse.indexfile import IndexPlan, plan_index
else:  # each name above is imported on first use, so importing the package costs nothing
    from llavamix.foundation.lazy import lazy_exports

    __getattr__, __dir__, __all__ = lazy_exports(__name__)
