"""An image's anyres view, for the record page: its size, the pinpoint grid LLaVA-NeXT picks for it, where the
resized image lands on that grid, and the visual-token estimate (``records.anyres``, the one definition)."""

from __future__ import annotations

import io
import math
import warnings
from dataclasses import dataclass

from PIL import Image

from llavamix.foundation.records.anyres import PATCH, best_resolution, visual_tokens


@dataclass(frozen=True)
class AnyresView:
    """``size`` (width, height) of the image; ``grid`` the pinpoint canvas; ``placed`` (x, y, width, height) of
    the image resized into it, aspect kept and centred (the padding the model unpads); ``tokens`` the estimate."""

    size: tuple[int, int]
    grid: tuple[int, int]
    placed: tuple[int, int, int, int]
    tokens: int

    @property
    def tiles(self) -> tuple[int, int]:
        """Tiles of ``PATCH`` pixels across and down."""
        return self.grid[0] // PATCH, self.grid[1] // PATCH


def anyres_view(data: bytes) -> AnyresView:
    """The view of the image in ``data`` (its header only is read); ValueError when it is not an image."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a huge header still has a size worth showing
            with Image.open(io.BytesIO(data)) as im:
                size = im.size
    except (OSError, Image.DecompressionBombError) as exc:
        raise ValueError(f"not a readable image ({exc})") from None
    grid = best_resolution(size)
    return AnyresView(size, grid, _placed(size, grid), visual_tokens(size))


def _placed(size: tuple[int, int], grid: tuple[int, int]) -> tuple[int, int, int, int]:
    # the reference's resize_and_pad_image: fit the canvas along the tighter side, keep the aspect, centre it
    (width, height), (grid_w, grid_h) = size, grid
    if grid_w / width < grid_h / height:
        new_w, new_h = grid_w, min(math.ceil(height * grid_w / width), grid_h)
    else:
        new_w, new_h = min(math.ceil(width * grid_h / height), grid_w), grid_h
    return (grid_w - new_w) // 2, (grid_h - new_h) // 2, new_w, new_h
