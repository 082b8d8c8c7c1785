"""``connect``: the Ray instance work runs on: an existing cluster at an address, else a local one started here."""

from __future__ import annotations

import logging
from types import ModuleType

from llavamix.foundation.errors import ConfigError
from llavamix.foundation.extras import require


def connect(address: str | None = None, num_cpus: int | None = None) -> ModuleType:
    """The ``ray`` module, initialised: joined to the cluster at ``address`` (``auto``, ``ray://host:10001``,
    ``host:6379``), or, without one, a local instance of ``num_cpus`` CPUs (default: all; ``RAY_ADDRESS`` in the
    environment still picks a cluster, as in any Ray program). A process already connected stays as it is."""
    ray = require("ray")
    require("ray.data")  # ray without its data extra: `pip install 'llavamix[ray]'` installs ray[data]
    if not ray.is_initialized():
        _init(ray, address, num_cpus)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # the CLI draws its own bars from the outcomes
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    return ray


def _init(ray: ModuleType, address: str | None, num_cpus: int | None) -> None:
    options = {"address": address} if address else {"num_cpus": num_cpus, "include_dashboard": False}
    try:
        ray.init(logging_level=logging.WARNING, log_to_driver=False, **options)
    except ConnectionError as exc:
        raise ConfigError(
            f"cannot reach the Ray cluster at {address}: {exc}; check --ray-address (e.g. ray://head:10001 or "
            "auto on a cluster node), or leave it out to start a local Ray instance"
        ) from None
