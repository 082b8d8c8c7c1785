"""Folders known under two names: the catalog's ``spellings`` (the mix JSON says ``chartqa/`` where
vqa_collection.zip holds ``chatqa/``), and the mix's own folder (the finetune scripts read ``llava-next/`` where the
mix lives in ``open-llava-next/``). Whichever name is needed and missing becomes an alias of the one on disk."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from llavamix.foundation.layout import MIX_ALIAS_DIR, MIX_JSON
from llavamix.foundation.records import iter_images
from llavamix.mix.aliases import Alias, make_alias

MIX_TWINS = (MIX_ALIAS_DIR, MIX_JSON.parent.as_posix())


def needed_folders(root: Path) -> set[str]:
    """Top-level folders that training reads: those the mix's image paths start with, and the mix's own folder
    under the name the scripts use. Empty when the mix JSON is not under ``root``."""
    mix = root / MIX_JSON
    if not mix.is_file():
        return set()
    tops = {image.partition("/")[0] for image in iter_images(mix) if "/" in image}
    return tops | {MIX_ALIAS_DIR}


def fix_spellings(root: Path, spellings: Sequence[tuple[str, str]] = (), needed: set[str] | None = None) -> list[Alias]:
    """Alias each needed folder that is missing (or already an alias) to its twin present under ``root``; the twins
    are the pairs of ``spellings`` and the mix's folder, each aliased in whichever direction is needed."""
    needed = needed_folders(root) if needed is None else needed
    made = []
    for a, b in (*spellings, MIX_TWINS):
        for want, have in ((a, b), (b, a)):
            link, target = root / want, root / have
            usable = target.exists() and not target.is_symlink()
            if want in needed and usable and (link.is_symlink() or not link.exists()):
                made.append(make_alias(root, want, have))
    return made
