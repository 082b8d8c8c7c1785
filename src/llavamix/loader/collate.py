"""Batching samples for the model, like the reference's DataCollatorForSupervisedDataset."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llavamix.foundation.extras import require
from llavamix.loader.config import IGNORE_INDEX


class Collator:
    """Right-pads ``input_ids`` with ``pad_token_id`` and ``labels`` with IGNORE_INDEX, cuts both to
    ``max_length``, adds ``attention_mask``, stacks the images when they share a shape (else keeps a list) and
    lists their ``image_sizes``."""

    def __init__(self, pad_token_id: int, max_length: int) -> None:
        self.torch = require("torch")
        self.pad_token_id = pad_token_id
        self.max_length = max_length

    @classmethod
    def for_tokenizer(cls, tokenizer: Any, max_length: int | None = None) -> Collator:
        """A collator padding with ``tokenizer.pad_token_id`` and cutting at ``max_length`` (default: the
        tokenizer's ``model_max_length``, as the reference does)."""
        return cls(tokenizer.pad_token_id, max_length if max_length is not None else tokenizer.model_max_length)

    def __call__(self, samples: Sequence[dict[str, Any]]) -> dict[str, Any]:
        pad = self.torch.nn.utils.rnn.pad_sequence
        input_ids = pad([s["input_ids"] for s in samples], batch_first=True, padding_value=self.pad_token_id)
        labels = pad([s["labels"] for s in samples], batch_first=True, padding_value=IGNORE_INDEX)
        input_ids, labels = input_ids[:, : self.max_length], labels[:, : self.max_length]
        batch: dict[str, Any] = {
            "input_ids": input_ids,
            "labels": labels,
            "attention_mask": input_ids.ne(self.pad_token_id),
        }
        if "image" in samples[0]:
            images = [s["image"] for s in samples]
            same = all(x is not None and x.shape == images[0].shape for x in images)
            batch["images"] = self.torch.stack(images) if same else images
            batch["image_sizes"] = [s["image_size"] for s in samples]
        return batch
