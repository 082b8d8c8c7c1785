"""The map-style training dataset over a mix (JSON or index) and the folder layout of its images."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from llavamix.foundation.errors import BadSampleError, ConfigError, UnsafePathError
from llavamix.foundation.extras import require
from llavamix.foundation.formats.index import open_index
from llavamix.foundation.layout import Layout
from llavamix.foundation.records import MixFile, MixSource, Record
from llavamix.loader.config import PreprocessConfig
from llavamix.loader.sample import POLICIES, SampleBuilder, read_image, record_errors

torch: Any = require("torch")
log = logging.getLogger(__name__)


def open_mix(path: Path | str) -> MixSource:
    """A JSON mix (``MixFile``) or a ``llavamix index`` file (``MixIndex``), whichever ``path`` is."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: mix not found; pass the mix JSON or an index built by `llavamix index`")
    with open(path, "rb") as fh:
        head = fh.read(64).lstrip()
    return MixFile(path) if head[:1] == b"[" else open_index(path)


class LlavaNextDataset(torch.utils.data.Dataset):
    """``ds[i]`` is ``{"input_ids", "labels", "image", "image_size"}`` exactly as the reference builds it.

    ``mix`` is the mix JSON or its index, ``root`` the data root the ``image`` paths are relative to, ``tokenizer``
    any Hugging Face tokenizer (its ``model_max_length`` should equal ``config.model_max_length``, as in training).
    ``on_bad_sample``: ``"raise"`` (default) raises BadSampleError naming the record's index, id and image path,
    where the reference would crash; ``"skip"`` logs a warning, counts it in ``skipped`` (per process) and returns
    the next good sample (``i+1``, ``i+2``, ... wrapping around), so a given index always yields the same sample.
    """

    def __init__(
        self,
        mix: Path | str,
        root: Path | str,
        tokenizer: Any,
        config: PreprocessConfig | None = None,
        *,
        on_bad_sample: str = "raise",
    ) -> None:
        if on_bad_sample not in POLICIES:
            raise ConfigError(f"on_bad_sample is {on_bad_sample!r}; use 'raise' or 'skip'")
        self.mix = open_mix(mix)
        self.root = Path(root)
        self.layout = Layout(self.root)
        self.config = config or PreprocessConfig()
        self.build = SampleBuilder(tokenizer, self.config)
        self.on_bad_sample = on_bad_sample
        self.skipped = 0
        self._lengths: tuple[list[int], list[int]] | None = None

    def __len__(self) -> int:
        return len(self.mix)

    def __getitem__(self, i: int) -> dict[str, Any]:
        if self.on_bad_sample == "raise":
            return self.sample(i)
        n = len(self)
        for k in range(n):
            try:
                return self.sample((i + k) % n)
            except BadSampleError as exc:
                self.skipped += 1
                log.warning("skipping a bad sample: %s", exc)
        raise BadSampleError(f"{self.mix.path}: no sample can be built; check the data root {self.root}")

    def sample(self, i: int) -> dict[str, Any]:
        """Sample ``i``, raising BadSampleError when its record or image cannot be used."""
        with record_errors(i):
            record = self.mix.record(i)
        image = None
        if self.build.image_wanted(i, record):
            path = self._image_path(i, record)
            image = read_image(i, record, path, str(path) if path else "'image': null")
        return self.build(i, record, image)

    def _image_path(self, i: int, record: Record) -> Path | None:
        """Where record ``i``'s image is under the root; BadSampleError for a path that would leave the root,
        which the reference would open wherever it points."""
        if not isinstance(record.image, str):
            return None
        try:
            return self.layout.image(record.image)
        except UnsafePathError as exc:
            raise BadSampleError(
                f"record {i} (id {record.id!r}): {exc}; fix the path or drop the record "
                "(`llavamix verify` lists every such record as outside_root)"
            ) from None

    def _all_lengths(self) -> tuple[list[int], list[int]]:
        if self._lengths is None:
            self._lengths = self.mix.sampler_lengths()
        return self._lengths

    @property
    def lengths(self) -> list[int]:
        """Per-record word count (+128 with an image), as the reference's ``lengths``."""
        return self._all_lengths()[0]

    @property
    def modality_lengths(self) -> list[int]:
        """Per-record word count, negative for text-only records, as the reference's ``modality_lengths``."""
        return self._all_lengths()[1]
