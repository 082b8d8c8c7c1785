"""Image checks: is the path inside the data root and the file there (quick), and does it decode in full the way
training opens it (deep).

Training runs ``Image.open(path).convert('RGB')`` with PIL's defaults, so that is what is checked: PIL's format
sniffing (not the extension), ``LOAD_TRUNCATED_IMAGES`` off, and PIL's decompression-bomb limit. Only regular files
are read (``io.open_regular``): a FIFO or a link to a device is reported, never waited on or read without end.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import PurePath

import msgspec
from PIL import Image

from llavamix.foundation.io import open_regular

# PIL's own default: training runs with it, and above 2x of it Image.open raises DecompressionBombError (a crash);
# between 1x and 2x PIL only warns, but one such RGB image needs >256 MB to decode in every loader worker.
DEFAULT_MAX_PIXELS = 89_478_485
# Below 32 px on the shorter side CLIP's 336 px input is an upscale of more than 10x, i.e. no visual detail;
# typical hits are placeholders saved in place of a dead download (e.g. a 1x1 GIF).
DEFAULT_TINY = 32

# Modes convert('RGB') handles faithfully; anything else (CMYK, I;16, I, F, LAB, ...) is reported.
USUAL_MODES = frozenset({"1", "L", "LA", "P", "RGB", "RGBA", "RGBX"})
# The formats PIL may sniff for each extension (MPO is the JPEG variant many cameras write).
EXTENSION_FORMATS: dict[str, frozenset[str]] = {
    ".jpg": frozenset({"JPEG", "MPO"}),
    ".jpeg": frozenset({"JPEG", "MPO"}),
    ".png": frozenset({"PNG"}),
    ".gif": frozenset({"GIF"}),
    ".webp": frozenset({"WEBP"}),
    ".bmp": frozenset({"BMP"}),
    ".tif": frozenset({"TIFF"}),
    ".tiff": frozenset({"TIFF"}),
}


class ImageCheck(msgspec.Struct, array_like=True, frozen=True):
    """The verdict on one image: a reason code (None when fine), a detail, and its size when it was read."""

    code: str | None = None
    detail: str = ""
    width: int = 0
    height: int = 0


OK = ImageCheck()


@dataclass(frozen=True)
class Limits:
    """Thresholds of the deep check."""

    tiny: int = DEFAULT_TINY
    max_pixels: int = DEFAULT_MAX_PIXELS


def inspect_image(path: str, limits: Limits = Limits()) -> ImageCheck:
    """Decode ``path`` fully and classify it; a path that is not (or no longer) a regular file is ``missing``."""
    width = height = 0
    try:
        fh = open_regular(path)
    except OSError as exc:  # gone, or swapped for a FIFO or device since the stat
        return ImageCheck("missing", exc.strerror or type(exc).__name__)
    try:
        with fh:
            im = Image.open(fh)
            width, height = im.size
            if width * height > limits.max_pixels:
                return ImageCheck("bomb", f"{width}x{height} px > {limits.max_pixels}", width, height)
            fmt, mode, transparent = im.format, im.mode, "transparency" in im.info
            if fmt in ("JPEG", "MPO"):
                # DCT scaling to 1/8 skips most IDCT work but libjpeg still entropy-decodes every byte, so a
                # truncated or corrupt stream fails exactly as a full decode would (see tests and benchmarks).
                im.draft(mode, (1, 1))
            im.load()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        return ImageCheck("bomb", str(exc))
    except Image.UnidentifiedImageError:
        return ImageCheck("undecodable", "not an image format PIL can read")
    except Exception as exc:  # noqa: BLE001 - any decoder failure is exactly what training would crash on
        return ImageCheck("undecodable", f"{type(exc).__name__}: {exc}", width, height)
    return _warning(path, fmt, mode, transparent, width, height, limits)


def _warning(path: str, fmt: str | None, mode: str, transparent: bool, w: int, h: int, limits: Limits) -> ImageCheck:
    if min(w, h) < limits.tiny:
        return ImageCheck("tiny_image", f"{w}x{h} px", w, h)
    expected = EXTENSION_FORMATS.get(PurePath(path).suffix.lower())
    if expected is not None and fmt not in expected:
        return ImageCheck("format_mismatch", f"{fmt} bytes under {PurePath(path).suffix}", w, h)
    if mode not in USUAL_MODES or (transparent and mode in ("P", "L", "RGB")):
        detail = f"mode {mode}" + (" with transparency" if transparent else "")
        return ImageCheck("unusual_mode", detail, w, h)
    return ImageCheck(None, "", w, h)


def inspect_many(paths: list[str], limits: Limits = Limits()) -> list[ImageCheck]:
    """``inspect_image`` over a chunk of paths: the unit of work sent to a worker process."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PIL's advisory warnings would only flood the terminal
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        return [inspect_image(p, limits) for p in paths]
