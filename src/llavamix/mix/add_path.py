"""The pretraining JSON the scripts read, ``blip_laion_cc_sbu_558k_add-path.json``: the 558K caption JSON with
``llava/llava_pretrain/images/`` prefixed to every ``image``. Published nowhere, so it is written here: streamed,
atomically, each record's other values kept byte for byte."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import msgspec

from llavamix.foundation.layout import PRETRAIN_ADD_PATH_JSON, PRETRAIN_IMAGES, PRETRAIN_JSON
from llavamix.foundation.records import iter_windows, write_raw_array

log = logging.getLogger(__name__)

PREFIX = PRETRAIN_IMAGES.as_posix() + "/"
_fields = msgspec.json.Decoder(dict[str, msgspec.Raw])
_text = msgspec.json.Decoder(str)


@dataclass(frozen=True)
class AddPath:
    """The add-path JSON (relative to the data root); ``records`` is None when an up-to-date one was kept."""

    path: str
    records: int | None
    how: Literal["written", "exists"]


def with_prefix(raw: bytes | msgspec.Raw, prefix: str = PREFIX, *, again: bool = False) -> bytes | msgspec.Raw:
    """The record with ``prefix`` before its ``image`` value; anything that is not such a record is unchanged, and
    so is a path that already starts with ``prefix`` unless ``again`` (the mix builder prepends whatever is there).

    Every value keeps its bytes; the top-level keys are joined again without whitespace between them."""
    try:
        fields = _fields.decode(raw)
        image = _text.decode(fields["image"])
    except (msgspec.DecodeError, msgspec.ValidationError, KeyError):
        return raw  # no object, no image, or a non-string image: nothing to prefix
    if image.startswith(prefix) and not again:
        return raw
    fields["image"] = msgspec.Raw(msgspec.json.encode(prefix + image))
    return msgspec.json.encode(fields)


def write_add_path(root: Path) -> AddPath | None:
    """Write the add-path JSON from the 558K JSON under ``root`` (None if that is absent); a copy newer than its
    source is kept."""
    src, dest = root / PRETRAIN_JSON, root / PRETRAIN_ADD_PATH_JSON
    if not src.is_file():
        return None
    if dest.is_file() and dest.stat().st_mtime_ns >= src.stat().st_mtime_ns:
        return AddPath(PRETRAIN_ADD_PATH_JSON.as_posix(), None, "exists")
    n = write_raw_array(dest, (with_prefix(raw) for window in iter_windows(src) for raw in window.raws))
    log.info("wrote %s: %d records", dest, n)
    return AddPath(PRETRAIN_ADD_PATH_JSON.as_posix(), n, "written")
