"""A deterministic worker crash for the tests of retries: the task that finds the armed marker dies once."""

from __future__ import annotations

import os
from pathlib import Path

FAULT_ENV = "LLAVAMIX_RAY_FAULT"


def crash_if_armed() -> None:
    """When ``$LLAVAMIX_RAY_FAULT`` names a file that exists, the first task to claim it (an atomic rename to
    ``NAME.fired``) kills its worker process, as a lost node or an out-of-memory kill would, so a test can show
    that Ray runs the task again and the results do not change. Unset (always, outside tests): nothing."""
    marker = os.environ.get(FAULT_ENV)
    if not marker:
        return
    try:
        Path(marker).rename(marker + ".fired")
    except FileNotFoundError:  # not armed, or another task claimed it first
        return
    os._exit(1)
