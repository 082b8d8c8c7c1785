"""Serve the mix to training: a PyTorch dataset, sampler and collator whose samples equal the reference's.

Needs the ``torch`` extra (``pip install 'llavamix[torch]'``). ``PreprocessConfig`` imports without it; the
torch-backed names raise MissingExtra naming the extra when torch is absent. A stage: imports the foundation
only (the index and shard formats from ``llavamix.foundation.formats``), never another stage.
"""

from __future__ import annotations

import importlib
from typing import Any

from llavamix.loader.config import IGNORE_INDEX, IMAGE_TOKEN_INDEX, PreprocessConfig

_LAZY = {
    "LlavaNextDataset": "llavamix.loader.dataset",
    "open_mix": "llavamix.loader.dataset",
    "ShardDataset": "llavamix.loader.shards",
    "SampleBuilder": "llavamix.loader.sample",
    "ImageProcessor": "llavamix.loader.image",
    "Collator": "llavamix.loader.collate",
    "LengthGroupedSampler": "llavamix.loader.sampler",
    "ShuffleSampler": "llavamix.loader.sampler",
    "encode": "llavamix.loader.tokens",
    "tokenize_with_image": "llavamix.loader.tokens",
}

__all__ = ["IGNORE_INDEX", "IMAGE_TOKEN_INDEX", "PreprocessConfig", *_LAZY]


def __getattr__(name: str) -> Any:
    # torch is imported on first use of a name that needs it, never when the package is imported
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'llavamix.loader' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
