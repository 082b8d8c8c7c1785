"""How many visual tokens an image costs a LLaVA-NeXT model under anyres (the figure stats and reports estimate).

Tokens = 576 for the global 336 px view (24 x 24 CLIP-L/14 patches)
       + the grid view's features after ``unpad_image`` removes the rows/columns that only cover padding
       + one ``image_newline`` token per remaining feature row.
The grid is the pinpoint ``select_best_resolution`` picks; each 336 px tile is 24 x 24 features.
"""

from __future__ import annotations

from collections.abc import Sequence

PATCH = 336  # CLIP-L/14-336 input size
FEATURES = 24  # features per side of one 336 px tile (336 / 14)
BASE_TOKENS = FEATURES * FEATURES
# train() hard-codes [[1,2],[2,1],[2,2],[3,1],[1,3]] x 336, as (width, height); the one definition of the grid,
# for the loader's PreprocessConfig default and the stats' token estimate alike
DEFAULT_PINPOINTS: tuple[tuple[int, int], ...] = ((336, 672), (672, 336), (672, 672), (1008, 336), (336, 1008))


def best_resolution(size: tuple[int, int], pinpoints: Sequence[tuple[int, int]] = DEFAULT_PINPOINTS) -> tuple[int, int]:
    """The pinpoint keeping the most of the image's pixels after an aspect-preserving fit, least waste on ties."""
    width, height = size
    best, best_key = pinpoints[0], (-1, 0)
    for w, h in pinpoints:
        scale = min(w / width, h / height)
        effective = min(int(width * scale) * int(height * scale), width * height)
        key = (effective, -(w * h - effective))
        if key > best_key:
            best, best_key = (w, h), key
    return best


def visual_tokens(size: tuple[int, int], pinpoints: Sequence[tuple[int, int]] = DEFAULT_PINPOINTS) -> int:
    """Visual tokens of an image of ``size`` (width, height) under anyres with ``spatial_unpad``."""
    width, height = size
    grid_w, grid_h = best_resolution(size, pinpoints)
    cols, rows = grid_w // PATCH * FEATURES, grid_h // PATCH * FEATURES
    if width / height > cols / rows:  # wider than the grid: padding rows above and below
        new_h = int(height * cols / width)
        rows -= 2 * ((rows - new_h) // 2)
    else:
        new_w = int(width * rows / height)
        cols -= 2 * ((cols - new_w) // 2)
    return BASE_TOKENS + rows * cols + rows
