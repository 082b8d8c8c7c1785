"""LLaVA-NeXT "anyres" geometry: which grid resolution an image gets, how it is fitted into it, how it is tiled."""

from __future__ import annotations

import math
from collections.abc import Sequence

Size = tuple[int, int]  # (width, height), PIL's order


def best_resolution(size: Size, candidates: Sequence[Sequence[int]]) -> Size:
    """The candidate (width, height) that keeps the most image pixels after an aspect-preserving downscale.

    Ties on kept pixels go to the candidate with the least unused area; the first candidate wins a full tie.
    """
    width, height = size
    best: Size | None = None
    best_kept, best_waste = 0, math.inf
    for cw, ch in candidates:
        scale = min(cw / width, ch / height)
        kept = min(int(width * scale) * int(height * scale), width * height)
        waste = cw * ch - kept
        if kept > best_kept or (kept == best_kept and waste < best_waste):
            best, best_kept, best_waste = (int(cw), int(ch)), kept, waste
    if best is None:
        raise ValueError(f"no grid resolution fits an image of {width}x{height}")
    return best


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


def grid_shape(size: Size, candidates: Sequence[Sequence[int]], patch: int) -> Size:
    """The feature grid (across, down) the model unpads for an image of ``size``: whole patches only."""
    width, height = best_resolution(size, candidates)
    return width // patch, height // patch
