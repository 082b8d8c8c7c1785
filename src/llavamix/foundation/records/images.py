"""The ``image`` values of a mix JSON, streamed window by window: what fix-ups and crawls need to know of a mix."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msgspec

from llavamix.foundation.records.model import decode_with
from llavamix.foundation.records.windows import iter_windows


class _ImageOnly(msgspec.Struct):
    # every other key is skipped unparsed, which keeps a pass over 1M records to a few seconds
    image: object = None


_decode = msgspec.json.Decoder(_ImageOnly).decode


def iter_images(path: Path | str) -> Iterator[str]:
    """Every string ``image`` value of the mix at ``path``, in record order; other records are skipped.

    Bytes that cannot be decoded (not UTF-8, nested too deep) raise MixFormatError: the file is not JSON."""
    for window in iter_windows(path):
        for i, raw in enumerate(window.raws, window.first):
            try:
                image = decode_with(_decode, raw, path, i).image
            except msgspec.ValidationError:
                continue  # not a record object: verify reports it; it names no image here
            if isinstance(image, str):
                yield image
