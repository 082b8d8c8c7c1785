"""CLIP image preprocessing equal to the reference: anyres tiles, pad-to-square, or plain resize and centre crop.

Resizes use PIL exactly as the reference does; rescaling and normalising, which the reference runs per tile in
float64 then float32, is a 256-entry lookup table per channel computed with the same float operations, applied to
all tiles at once. Results are bit-identical.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image

from llavamix.foundation.extras import require
from llavamix.foundation.io import open_regular
from llavamix.loader.anyres import best_resolution, fitted_size, paste_offset, tile_counts
from llavamix.loader.config import PreprocessConfig

if TYPE_CHECKING:
    import numpy as np
    import torch


def load_rgb(source: Path | str | Any) -> Image.Image:
    """Open an image file (or file object) and convert it to RGB the way the reference does.

    A path is opened only if it is a regular file (``io.open_regular``): a FIFO or a link to a device raises
    ``NotRegularFileError`` (an OSError) instead of blocking a loader worker or feeding it bytes without end.
    """
    if isinstance(source, (str, Path)):
        with open_regular(source) as fh:
            return load_rgb(fh)
    with Image.open(source) as img:
        img.load()
        # convert() of an RGB image is a plain copy; the decoded image itself has the same pixels
        return img if img.mode == "RGB" else img.convert("RGB")


class ImageProcessor:
    """Turns an RGB PIL image into the float tensor the reference feeds the vision tower."""

    def __init__(self, config: PreprocessConfig) -> None:
        self.np = require("numpy")
        self.torch = require("torch")
        self.config = config
        self.size = config.image_size
        self.lut = _normalise_table(self.np, config.image_mean, config.image_std)

    def __call__(self, image: Image.Image) -> torch.Tensor:
        """``[1+N, 3, S, S]`` for anyres, ``[3, S, S]`` otherwise (``image`` must be RGB)."""
        mode = self.config.image_aspect_ratio
        if mode == "anyres":
            return self.anyres(image)
        if mode == "pad":
            fill = tuple(int(x * 255) for x in self.config.image_mean)
            image = _expand_to_square(image, fill)
        return self.clip(image)

    def anyres(self, image: Image.Image) -> torch.Tensor:
        """The squashed global view followed by the grid tiles, row by row."""
        np, size = self.np, self.size
        target = best_resolution(image.size, self.config.pinpoints)
        fitted = fitted_size(image.size, target)
        cols, rows = tile_counts(target, size)
        out = np.empty((1 + rows * cols, 3, size, size), dtype=np.float32)
        self._normalise(np.asarray(image.resize((size, size)))[None], out[:1])
        # the reference pastes the fitted image on a black canvas (and PIL zero-fills crops past its edge):
        # every tile starts as normalised black, then the part of the image it covers is written over it
        out[1:] = self.lut[:, 0][None, :, None, None]
        pixels = np.asarray(image.resize(fitted))
        x0, y0 = paste_offset(fitted, target)
        for k in range(rows * cols):
            top, left = (k // cols) * size, (k % cols) * size
            y1, y2 = max(top, y0), min(top + size, y0 + fitted[1])
            x1, x2 = max(left, x0), min(left + size, x0 + fitted[0])
            if y1 < y2 and x1 < x2:
                tile = out[1 + k : 2 + k, :, y1 - top : y2 - top, x1 - left : x2 - left]
                self._normalise(pixels[None, y1 - y0 : y2 - y0, x1 - x0 : x2 - x0], tile)
        return self.torch.from_numpy(out)

    def clip(self, image: Image.Image) -> torch.Tensor:
        """CLIP's own preprocessing: shortest edge to S (bicubic), centre crop S x S."""
        np, size = self.np, self.size
        width, height = image.size
        short, long = min(width, height), max(width, height)
        new_long = int(size * long / short)
        resized = image.resize((size, new_long) if width <= height else (new_long, size), Image.Resampling.BICUBIC)
        pixels = np.asarray(resized)
        top, left = (pixels.shape[0] - size) // 2, (pixels.shape[1] - size) // 2
        out = np.empty((1, 3, size, size), dtype=np.float32)
        self._normalise(pixels[None, top : top + size, left : left + size], out)
        return self.torch.from_numpy(out[0])

    def _normalise(self, tiles: np.ndarray, out: np.ndarray) -> None:
        """uint8 ``[N, H, W, 3]`` -> float32 ``[N, 3, H, W]`` written into ``out``."""
        for c in range(3):
            self.np.take(self.lut[c], tiles[..., c], out=out[:, c], mode="clip")


def _normalise_table(np: Any, mean: tuple[float, ...], std: tuple[float, ...]) -> np.ndarray:
    # the same operations, in the same precisions, that transformers' rescale then normalize apply per pixel
    levels = (np.arange(256, dtype=np.uint8).astype(np.float64) * (1 / 255)).astype(np.float32)
    mean32 = np.asarray(mean, dtype=np.float32)[:, None]
    std32 = np.asarray(std, dtype=np.float32)[:, None]
    return (levels[None, :] - mean32) / std32


def _expand_to_square(image: Image.Image, fill: tuple[int, ...]) -> Image.Image:
    width, height = image.size
    if width == height:
        return image
    side = max(width, height)
    canvas = Image.new(image.mode, (side, side), fill)
    canvas.paste(image, ((side - width) // 2, (side - height) // 2))
    return canvas
