"""The images of one input as the filters and dedup measure them: content digest, anyres token estimate,
perceptual hash. Each is read once per path (records sharing an image share the answer); a path outside the
input's root, or one that does not lead to a readable regular file, has no answer (None)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import IO, TypeVar

from llavamix.foundation.errors import UnsafePathError
from llavamix.foundation.extras import require
from llavamix.foundation.io import CHUNK, open_regular
from llavamix.foundation.layout import inside
from llavamix.foundation.records.anyres import visual_tokens
from llavamix.mix.facts import digest

T = TypeVar("T")


class InputImages:
    """Measures of the images under one input's ``root``, cached by path."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._cache: dict[tuple[str, int], int | None] = {}

    def content(self, image: str) -> int | None:
        """A 64-bit digest of the file's bytes."""
        return self._measure("content", image, _content_digest)

    def tokens(self, image: str) -> int | None:
        """Anyres visual tokens of the image (its header is read, not the pixels)."""
        return self._measure("tokens", image, _visual_tokens)

    def phash(self, image: str) -> int | None:
        """The 64-bit perceptual hash (``imagehash.phash``) of the decoded image."""
        return self._measure("phash", image, _phash)

    def _measure(self, what: str, image: str, measure: Callable[[IO[bytes]], int]) -> int | None:
        key = (what, digest(image.encode("utf-8", "surrogatepass")))
        if key not in self._cache:
            self._cache[key] = self._open_and(image, measure)
        return self._cache[key]

    def _open_and(self, image: str, measure: Callable[[IO[bytes]], int]) -> int | None:
        try:
            with open_regular(inside(self.root, image, what="image path")) as fh:
                return measure(fh)
        except (OSError, UnsafePathError, ValueError):  # ValueError: what PIL raises for bytes it cannot read
            return None


def _content_digest(fh: IO[bytes]) -> int:
    h = hashlib.blake2b(digest_size=8)
    while chunk := fh.read(CHUNK):
        h.update(chunk)
    return int.from_bytes(h.digest(), "little")


def _visual_tokens(fh: IO[bytes]) -> int:
    from PIL import Image

    try:
        with Image.open(fh) as img:
            return visual_tokens(img.size)
    except Image.DecompressionBombError as exc:
        raise ValueError(str(exc)) from None


def _phash(fh: IO[bytes]) -> int:
    imagehash = require("imagehash")
    from PIL import Image

    try:
        with Image.open(fh) as img:
            return int(str(imagehash.phash(img)), 16)
    except Image.DecompressionBombError as exc:
        raise ValueError(str(exc)) from None
