"""Which index ``llavamix browse`` reads for a mix, and where it builds one when there is none: never under the
data root.

An index beside the mix (``MIX.idx``, as ``llavamix index MIX --out MIX.idx`` writes it) is used when it was built
from this very file (same name and size, not older than the mix). Otherwise the index lives in a cache folder
(``--cache``, default ``$XDG_CACHE_HOME/llavamix/browse``), named after the mix and a key of its path, size and
modification time, so a changed mix gets a new index and an unchanged one is indexed once.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from llavamix.foundation.errors import ConfigError
from llavamix.foundation.formats.index import open_index


@dataclass(frozen=True)
class IndexPlan:
    """``path``: the index to open; ``build``: it must first be built from the mix (it is missing or stale)."""

    path: Path
    build: bool


def default_cache() -> Path:
    """``$XDG_CACHE_HOME/llavamix/browse`` (``~/.cache/llavamix/browse`` without the variable)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "llavamix" / "browse"


def plan_index(mix: Path, root: Path, cache: Path | None = None) -> IndexPlan:
    """The index to read for ``mix``: its sibling ``MIX.idx`` when it is this mix's, else one in ``cache``
    (built there when absent). ConfigError when ``cache`` lies inside the data ``root``."""
    sibling = mix.with_suffix(".idx")
    if sibling != mix and is_index_of(sibling, mix):
        return IndexPlan(sibling, build=False)
    cache = Path(cache) if cache is not None else default_cache()
    refuse_inside(cache, root)
    target = cache / f"{mix.stem}-{_key(mix)}.idx"
    return IndexPlan(target, build=not is_index_of(target, mix))


def is_index_of(index: Path, mix: Path) -> bool:
    """Whether ``index`` is a readable llavamix index built from ``mix`` as it is now."""
    if not index.is_file() or index.stat().st_mtime < mix.stat().st_mtime:
        return False
    try:
        with open_index(index) as opened:
            meta = opened.meta
    except ConfigError:
        return False  # another file that happens to have the name: left alone, a cached one is used instead
    return meta.get("source") == mix.name and meta.get("source_bytes") == str(mix.stat().st_size)


def refuse_inside(cache: Path, root: Path) -> None:
    """ConfigError when the index cache is the data root or below it: browse never writes under the root."""
    real_cache, real_root = Path(os.path.realpath(cache)), Path(os.path.realpath(root))
    if real_cache == real_root or real_root in real_cache.parents:
        raise ConfigError(
            f"the index cache {cache} is inside the data root {root}, and browse never writes under the root; "
            "pass --cache DIR with a folder outside it"
        )


def _key(mix: Path) -> str:
    st = mix.stat()
    text = f"{os.path.realpath(mix)}\0{st.st_size}\0{st.st_mtime_ns}"
    return hashlib.sha256(text.encode()).hexdigest()[:16]
