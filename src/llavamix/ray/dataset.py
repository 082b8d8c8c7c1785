"""``read_mix``: a mix JSON (a path or any fsspec URL) as a ``ray.data.Dataset`` of records, for pipelines people
build themselves. One row per record: ``index``, ``record`` (its exact JSON text: ids, keys and values as in
the file), ``image`` (the path, None when there is none) and, when asked, ``image_bytes`` read under ``root``
(None where verify's quick checks find the file missing, empty, not regular or outside the root)."""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec

from llavamix.foundation.errors import ConfigError
from llavamix.foundation.layout import Layout
from llavamix.foundation.records import MixWindow, iter_windows, read_window
from llavamix.foundation.records.imagefile import locate_image
from llavamix.foundation.storage import StorageOptions, Target, is_url, local_input
from llavamix.pack.images import read_image
from llavamix.ray.session import connect

if TYPE_CHECKING:
    from ray.data import Dataset

_image_of = msgspec.json.Decoder(dict[str, Any]).decode


def read_mix(
    path_or_url: Target,
    *,
    images: bool = False,
    root: Path | str | None = None,
    storage_options: StorageOptions | None = None,
) -> Dataset:
    """The records of the mix at ``path_or_url`` in order, as a Dataset; ``images=True`` attaches each record's
    image bytes, read by the tasks under the data ``root`` (a folder every node of the cluster sees)."""
    if images and root is None:
        raise ConfigError("read_mix(images=True) needs root=, the data root the records' image paths are under")
    ray = connect()
    with local_input(path_or_url, storage_options) as local:
        # a remote mix is fetched once here and its windows travel to the tasks as bytes; from a local (or
        # shared) file only byte spans travel, and each task reads its own window
        windows = [_window(None if is_url(path_or_url) else local, w) for w in iter_windows(local)]
    data = ray.data.from_items(windows, override_num_blocks=max(1, len(windows)))
    rows = data.flat_map(_records)
    if images:
        rows = rows.map_batches(functools.partial(_attach_images, os.fspath(root or "")), batch_size=256)
    return rows


def _window(path: Path | None, window: MixWindow) -> dict[str, Any]:
    """One window as a work item: its byte span when ``path`` can be re-read by the tasks, else its records (and
    so for the rare window the whole-file fallback served, start -1, which has no span)."""
    if path is None or window.start < 0:
        return {"first": window.first, "raws": [bytes(r) for r in window.raws]}
    return {"first": window.first, "path": os.fspath(path), "start": window.start, "end": window.end}


def _records(window: dict[str, Any]) -> list[dict[str, Any]]:
    raws = window["raws"] if "raws" in window else read_window(window["path"], window["start"], window["end"])
    return [_row(i, bytes(raw)) for i, raw in enumerate(raws, window["first"])]


def _row(index: int, raw: bytes) -> dict[str, Any]:
    try:
        image = _image_of(raw).get("image")
    except (msgspec.DecodeError, msgspec.ValidationError):  # not an object: a record verify reports, kept as is
        image = None
    text = raw.decode("utf-8", "surrogatepass")
    return {"index": index, "record": text, "image": image if type(image) is str else None}


def _attach_images(root: str, batch: dict[str, Any]) -> dict[str, Any]:
    batch["image_bytes"] = [_image_bytes(root, image) for image in batch["image"]]
    return batch


def _image_bytes(root: str, image: str | None) -> bytes | None:
    if image is None or locate_image(root, image).code is not None:
        return None
    try:
        return read_image(Layout(Path(root)), image)[0]
    except OSError:  # vanished or changed since it was located: as unreadable as a missing file
        return None
