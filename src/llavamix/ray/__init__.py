"""The Ray Data engine: the stages' own per-item functions (record windows, image chunks, shard writes) run as
Ray Data tasks on a local Ray instance or an existing cluster, and ``read_mix``, a mix as a ``ray.data.Dataset``.

A composition layer beside ``prepare``: it imports the stages and the foundation; no stage imports it. Ray itself
is the optional extra ``llavamix[ray]``, imported when an engine first runs work.
"""

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llavamix.ray.dataset import read_mix
    from llavamix.ray.engine import RayEngine
    from llavamix.ray.session import connect
else:  # each name above is imported on first use, so importing the package costs nothing
    from llavamix.foundation.lazy import lazy_exports

    __getattr__, __dir__, __all__ = lazy_exports(__name__)
