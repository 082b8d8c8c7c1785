"""The reference sampler's record length: words (``str.split()`` tokens) of every turn, +128 with an image.

The modality-length sampler, the index's length columns, stats, verify and mix filters all measure a record by
this one formula.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llavamix.foundation.records.model import Record

IMAGE_LENGTH = 128  # what the reference sampler adds to an image record's word count

# ASCII bytes str.split() treats as whitespace -> b" ", every other byte -> b"x"
_ASCII_SPACE = b" \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"
_WORD_MAP = bytes(32 if b in _ASCII_SPACE else 120 for b in range(256))


def count_words(values: Sequence[str]) -> int:
    """``sum(len(v.split()) for v in values)``, without building the word lists for ASCII text."""
    text = " ".join(values)
    if not text.isascii():
        return len(text.split())
    # a word starts at every non-space byte that follows a space (or starts the text)
    mapped = text.encode().translate(_WORD_MAP)
    return mapped.count(b" x") + mapped.startswith(b"x")


def sample_lengths(values: Sequence[str], has_image: bool) -> tuple[int, int]:
    """``(length, modality_length)`` of a record exactly as the reference dataset's properties compute them.

    Words are ``str.split()`` tokens; image records get +128 on ``length``; ``modality_length`` is the plain word
    count, negated for text-only records.
    """
    words = count_words(values)
    return words + (IMAGE_LENGTH if has_image else 0), (words if has_image else -words)


def record_lengths(record: Record) -> tuple[int, int]:
    """``sample_lengths`` of a decoded record (a null ``image`` counts as an image, as in training)."""
    return sample_lengths([t.value for t in record.conversations], record.has_image)
