"""Start-up hook for the kill test's ``python -m llavamix pack`` (on its PYTHONPATH only): the image read number
``LLAVAMIX_TEST_STALL_AT`` creates the file ``LLAVAMIX_TEST_STALL_READY`` and then blocks, so the test's kill -9
always lands in the middle of a shard, never by timing."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

_AT = int(os.environ.get("LLAVAMIX_TEST_STALL_AT", "0"))

if _AT:
    from llavamix.pack import samples

    _real = samples.read_image
    _reads = [0]

    def _stalling(*args: Any) -> Any:
        _reads[0] += 1
        if _reads[0] == _AT:
            Path(os.environ["LLAVAMIX_TEST_STALL_READY"]).touch()
            time.sleep(3600)
        return _real(*args)

    samples.read_image = _stalling
