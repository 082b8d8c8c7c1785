"""Optional heavy dependencies (torch, pyarrow, matplotlib), imported on use with an error naming the extra."""

from __future__ import annotations

import importlib
from types import ModuleType

from llavamix.foundation.errors import MissingExtra

# module -> the pip extra that installs it
EXTRA_OF = {
    "torch": "torch",
    "transformers": "torch",
    "pyarrow": "serve",
    "numpy": "serve",
    "webdataset": "serve",
    "matplotlib": "report",
    "imagehash": "dedup",
    "fsspec": "s3",
    "s3fs": "s3",
    "gcsfs": "gcs",
    "ray": "ray",
}


def require(module: str) -> ModuleType:
    """Import ``module`` or raise MissingExtra saying which ``pip install 'llavamix[...]'`` provides it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        extra = EXTRA_OF.get(module.split(".")[0], module)
        raise MissingExtra(f"{module} is needed here but is not installed: pip install 'llavamix[{extra}]'") from exc
