"""The ``image`` values of a mix JSON, streamed window by window: what fix-ups and crawls need to know of a mix."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msgspec

from llavamix.records.windows import iter_windows


class _ImageOnly(msgspec.Struct):
    # every other key is skipped unparsed, which keeps a pass over 1M records to a few seconds
    image: object = None


_decode = msgspec.json.Decoder(_ImageOnly).decode


def iter_images(path: Path | str) -> Iterator[str]:
    """Every string ``image`` value of the mix at ``path``, in record order; other records are skipped."""
    for window in iter_windows(path):
        for raw in window.raws:
            try:
                image = _decode(raw).image
            except (msgspec.DecodeError, msgspec.ValidationError):
                continue  # not a record object: verify reports it; it names no image here
            if isinstance(image, str):
                yield image
