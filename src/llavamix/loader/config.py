"""How a record becomes a training sample: the preprocessing settings and the constants training expects."""

from __future__ import annotations

from dataclasses import dataclass, field

from llavamix.foundation.errors import ConfigError
from llavamix.foundation.records.anyres import DEFAULT_PINPOINTS
from llavamix.loader.conversation import TEMPLATES

IGNORE_INDEX = -100  # label value the loss skips
IMAGE_TOKEN_INDEX = -200  # placeholder id the model swaps for image features

OPENAI_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

ASPECT_RATIOS = ("anyres", "pad", "square")


@dataclass(frozen=True)
class PreprocessConfig:
    """Settings of the reference training run that shape each sample.

    ``template`` is the conversation format (``--version`` of the training script); ``image_aspect_ratio`` is
    ``anyres`` (LLaVA-NeXT grid of 336 px tiles plus a squashed global view), ``pad`` (pad to square with the mean
    colour) or ``square`` (plain CLIP resize and centre crop). ``model_max_length`` plays the role of the reference
    tokenizer's ``model_max_length``: text-only conversations are truncated to it and the collator cuts batches to it.
    """

    template: str = "v1"
    image_aspect_ratio: str = "anyres"
    grid_pinpoints: list[list[int]] | tuple[tuple[int, int], ...] = field(
        default_factory=lambda: [list(p) for p in DEFAULT_PINPOINTS]
    )
    image_size: int = 336
    image_mean: tuple[float, ...] = OPENAI_CLIP_MEAN
    image_std: tuple[float, ...] = OPENAI_CLIP_STD
    model_max_length: int = 4096

    def __post_init__(self) -> None:
        if self.template not in TEMPLATES:
            raise ConfigError(f"unknown template {self.template!r}; use one of {', '.join(TEMPLATES)}")
        if self.image_aspect_ratio not in ASPECT_RATIOS:
            raise ConfigError(
                f"unknown image_aspect_ratio {self.image_aspect_ratio!r}; use one of {', '.join(ASPECT_RATIOS)}"
            )
        if not self.grid_pinpoints or any(len(p) != 2 or min(p) <= 0 for p in self.grid_pinpoints):
            raise ConfigError("grid_pinpoints must be a non-empty list of [width, height] pairs of positive pixels")
        if len(self.image_mean) != 3 or len(self.image_std) != 3:
            raise ConfigError("image_mean and image_std need one value per RGB channel")
        if self.image_size <= 0 or self.model_max_length <= 0:
            raise ConfigError("image_size and model_max_length must be positive")

    @property
    def pinpoints(self) -> list[tuple[int, int]]:
        """The grid resolutions as (width, height) tuples."""
        return [(int(w), int(h)) for w, h in self.grid_pinpoints]
