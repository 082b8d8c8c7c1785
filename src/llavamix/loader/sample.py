"""One record (+ its image) -> the training sample dict the reference dataset returns, or a BadSampleError."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import msgspec
from PIL import Image

from llavamix.foundation.errors import BadSampleError, MixFormatError
from llavamix.foundation.extras import require
from llavamix.foundation.records import Record, decode_record
from llavamix.loader.config import PreprocessConfig
from llavamix.loader.image import ImageProcessor, load_rgb
from llavamix.loader.tokens import encode

if TYPE_CHECKING:
    import torch

POLICIES = ("raise", "skip")  # what a dataset does with a bad sample
# what a missing, corrupt, truncated or oversized image raises while PIL opens and decodes it
IMAGE_ERRORS = (OSError, ValueError, SyntaxError, Image.DecompressionBombError)


@contextlib.contextmanager
def record_errors(index: int) -> Iterator[None]:
    """Turn what reading record ``index`` raises when it is not a record into BadSampleError naming it."""
    try:
        yield
    except (msgspec.ValidationError, MixFormatError) as exc:  # MixFormatError: bytes that are not JSON text
        raise BadSampleError(f"record {index}: not a trainable record ({exc})") from exc


def decode(index: int, raw: Any) -> Record:
    """Record ``index`` from its JSON bytes; BadSampleError when it is not a record."""
    with record_errors(index):
        return decode_record(raw)


def read_image(index: int, record: Record, source: Path | IO[bytes] | None, where: str) -> Image.Image:
    """The record's image as RGB from a path or file object; BadSampleError naming the record and ``where``."""
    if not isinstance(record.image, str) or source is None:
        raise BadSampleError(f"record {index} (id {record.id!r}): no image at {where}; fix or drop the record")
    try:
        return load_rgb(source)
    except IMAGE_ERRORS as exc:
        raise BadSampleError(
            f"record {index} (id {record.id!r}): cannot read image {where}: {exc}; "
            "`llavamix verify` lists every such record"
        ) from exc


class SampleBuilder:
    """Builds ``{"input_ids", "labels", "image", "image_size"}`` exactly as LazySupervisedDataset does.

    ``image`` is a float tensor ``[1+N, 3, S, S]`` (anyres) or ``[3, S, S]``; ``image_size`` is the RGB image's
    (width, height), the padded square's with ``pad``. Text-only records get ``zeros(3, S, S)`` and ``(S, S)`` as
    the reference gives them, or neither key for a text-only model (``is_multimodal=False``).
    """

    def __init__(self, tokenizer: Any, config: PreprocessConfig) -> None:
        self.torch = require("torch")
        self.tokenizer = tokenizer
        self.config = config
        self.images = ImageProcessor(config)

    def image_wanted(self, index: int, record: Record) -> bool:
        """Whether record ``index``'s image must be read; BadSampleError for an image record when the model is
        text-only, as the reference, which then has no image processor, crashes on it."""
        if record.has_image and not self.config.is_multimodal:
            raise BadSampleError(
                f"record {index} (id {record.id!r}) has an image, but is_multimodal=False is a text-only model; "
                "drop the record or set is_multimodal=True"
            )
        return record.has_image

    def __call__(self, index: int, record: Record, image: Image.Image | None) -> dict[str, Any]:
        """``image``: the record's picture in RGB, None for text-only; BadSampleError for untrainable turns."""
        self.image_wanted(index, record)
        turns = [(t.role, t.value) for t in record.conversations]
        try:
            tokens = encode(turns, self.tokenizer, self.config, has_image=record.has_image)
        except ValueError as exc:
            raise BadSampleError(f"record {index} (id {record.id!r}): {exc}") from exc
        sample: dict[str, Any] = {
            "input_ids": self.torch.tensor(tokens.input_ids, dtype=self.torch.long),
            "labels": self.torch.tensor(tokens.labels, dtype=self.torch.long),
        }
        if self.config.is_multimodal:
            sample["image"], sample["image_size"] = self._pixels(image)
        return sample

    def _pixels(self, image: Image.Image | None) -> tuple[torch.Tensor, tuple[int, int]]:
        side = self.config.image_size
        if image is None:
            return self.torch.zeros(3, side, side), (side, side)
        if self.config.image_aspect_ratio == "pad":  # the reference measures the image once padded to a square
            return self.images(image), (max(image.size), max(image.size))
        return self.images(image), image.size
