"""LLaVA-NeXT "anyres" geometry: how an image is fitted into its grid resolution and cut into tiles.

The grid resolution itself is ``llavamix.foundation.records.anyres.best_resolution`` (shared with the statistics).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from llavamix.foundation.records.anyres import best_resolution

Size = tuple[int, int]  # (width, height), PIL's order


def fitted_size(size: Size, target: Size) -> Size:
    """The (width, height) the image is resized to so it fits ``target`` with its aspect ratio kept."""
    width, height = size
    tw, th = target
    sw, sh = tw / width, th / height
    if sw < sh:
        return tw, min(math.ceil(height * sw), th)
    return min(math.ceil(width * sh), tw), th


def paste_offset(fitted: Size, target: Size) -> Size:
    """Top-left corner (x, y) that centres a fitted image on the black ``target`` canvas."""
    return (target[0] - fitted[0]) // 2, (target[1] - fitted[1]) // 2


def tile_counts(target: Size, patch: int) -> Size:
    """Tiles across and down when a ``target`` canvas is cut into ``patch``-sized squares (edges zero-filled)."""
    return math.ceil(target[0] / patch), math.ceil(target[1] / patch)


def grid_shape(size: Size, candidates: Sequence[tuple[int, int]], patch: int) -> Size:
    """The feature grid (across, down) the model unpads for an image of ``size``: whole patches only."""
    width, height = best_resolution(size, candidates)
    return width // patch, height // patch


__all__ = ["Size", "best_resolution", "fitted_size", "grid_shape", "paste_offset", "tile_counts"]
