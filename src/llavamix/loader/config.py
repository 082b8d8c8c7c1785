"""How a record becomes a training sample: the preprocessing settings and the constants training expects."""

from __future__ import annotations

from dataclasses import dataclass, field

from llavamix.foundation.errors import ConfigError
from llavamix.foundation.records.anyres import DEFAULT_PINPOINTS
from llavamix.loader.conversation import template

IGNORE_INDEX = -100  # label value the loss skips
IMAGE_TOKEN_INDEX = -200  # placeholder id the model swaps for image features
IM_START, IM_END = "<im_start>", "<im_end>"  # the tokens mm_use_im_start_end puts around the image token

OPENAI_CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_CLIP_STD = (0.26862954, 0.26130258, 0.27577711)

ASPECT_RATIOS = ("anyres", "pad", "square")  # every value the reference names


@dataclass(frozen=True)
class PreprocessConfig:
    """Settings of the reference training run that shape each sample, each named after what it mirrors.

    - ``template``: ``--version``, the conversation format; every value the training script takes (see
      ``conversation.TEMPLATES``). ``v0`` and ``v0.5`` train the Vicuna-v1 format, as the script does; ``default``
      and ``llava_v0`` are the "###" format.
    - ``image_aspect_ratio``: ``--image_aspect_ratio``: ``anyres`` (LLaVA-NeXT grid of tiles plus a squashed
      global view), ``pad`` (pad to a square with the mean colour; ``image_size`` is then the padded square's) or
      ``square`` (plain CLIP resize and centre crop). The reference trains any other value as ``square``; llavamix
      refuses it instead.
    - ``grid_pinpoints``: ``--image_grid_pinpoints`` (Open-LLaVA-NeXT derives them from the vision tower's size).
    - ``image_size``, ``image_mean``, ``image_std``: the ``--vision_tower``'s image processor (CLIP ViT-L/14-336).
    - ``model_max_length``: ``--model_max_length``, the tokenizer's ``model_max_length``: text-only conversations
      are truncated to it and the collator cuts batches to it.
    - ``mm_use_im_start_end``: ``--mm_use_im_start_end``: the image token is written ``<im_start><image><im_end>``
      (the tokenizer must hold those two tokens, as training adds them).
    - ``is_multimodal``: the data argument training sets when it has a ``--vision_tower``. False is a text-only
      model: text-only samples carry no ``image`` / ``image_size``, and a record with an image is a bad sample
      (the reference has no image processor to read it).
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
    mm_use_im_start_end: bool = False
    is_multimodal: bool = True

    def __post_init__(self) -> None:
        template(self.template)  # raises ConfigError naming every accepted value
        if self.image_aspect_ratio not in ASPECT_RATIOS:
            raise ConfigError(
                f"unknown image_aspect_ratio {self.image_aspect_ratio!r}; use one of {', '.join(ASPECT_RATIOS)} "
                "(the reference trains any other value as square: pass 'square' for that)"
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
