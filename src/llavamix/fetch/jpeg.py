"""Crawled images as real JPEG files: a JPEG in RGB or greyscale is kept byte for byte; anything else (GIF, PNG,
palette, alpha, CMYK) becomes an RGB JPEG, so a ``.jpg`` name never hides other bytes."""

from __future__ import annotations

import io
import warnings

from PIL import Image, UnidentifiedImageError

KEEP_MODES = frozenset({"RGB", "L"})  # JPEGs every loader reads as they are
QUALITY = 95  # re-encodes are rare (GIF/PNG covers): keep them close to the source rather than small
BACKGROUND = (255, 255, 255)  # transparent areas land on white, as a browser shows them on a page


class NotAnImage(Exception):
    """The bytes are no image Pillow can read (an error page served with 200, a truncated file...)."""


def as_jpeg(data: bytes) -> tuple[bytes, bool]:
    """``(jpeg_bytes, converted)``: the input itself when it is already a plain JPEG, else an RGB re-encode."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                if img.format == "JPEG" and img.mode in KEEP_MODES:
                    return data, False
                rgb = to_rgb(img)  # the first frame: Pillow opens animations there
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as exc:  # fmt: skip
        raise NotAnImage(f"not a readable image ({type(exc).__name__}: {exc})") from None
    out = io.BytesIO()
    rgb.save(out, "JPEG", quality=QUALITY)
    return out.getvalue(), True


def to_rgb(img: Image.Image) -> Image.Image:
    """RGB pixels of ``img``, transparency flattened onto BACKGROUND."""
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        flat = Image.new("RGB", rgba.size, BACKGROUND)
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return img.convert("RGB")
