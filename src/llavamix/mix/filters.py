"""The recipe's ``[filter]``: why a record is left out before the selects, or None when it passes.

Reasons (the manifest counts each): ``verify_error`` (its input's verify report gives it an error),
``has_image``, ``length`` (the sampler's length out of range), ``tokens`` (the estimate out of range) and
``tokens_unknown`` (its image cannot be read, so its tokens cannot be estimated).
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from llavamix.foundation.errors import ConfigError
from llavamix.foundation.records.reasons import is_error
from llavamix.mix.facts import Facts
from llavamix.mix.images import InputImages
from llavamix.mix.recipe import Filter

TOKENS_PER_WORD = 4 / 3  # text tokens per word: the usual ratio of LLaMA-family tokenizers on English text


class _Problem(msgspec.Struct):
    index: int
    code: str


class _Report(msgspec.Struct):
    records: int
    problems: list[_Problem] = []


def error_indices(path: Path) -> tuple[int, frozenset[int]]:
    """``(records, indices with an error)`` of a verify report (``llavamix verify --report``)."""
    try:
        report = msgspec.json.decode(path.read_bytes(), type=_Report)
    except (OSError, msgspec.DecodeError) as exc:
        raise ConfigError(
            f"verify report {path} cannot be read ({exc}); make it again with llavamix verify "
            f"MIX --root ROOT --report {path}"
        ) from None
    return report.records, frozenset(p.index for p in report.problems if is_error(p.code))


class RecordFilter:
    """``[filter]`` applied to the records of one input."""

    def __init__(self, spec: Filter, images: InputImages, errors: frozenset[int] = frozenset()) -> None:
        self.spec, self.images, self.errors = spec, images, errors

    def reject(self, index: int, facts: Facts) -> str | None:
        spec = self.spec
        if index in self.errors:
            return "verify_error"
        if spec.has_image is not None and facts.has_image != spec.has_image:
            return "has_image"
        if not _within(facts.length, spec.min_length, spec.max_length):
            return "length"
        if spec.reads_images:
            return self._tokens(facts)
        return None

    def _tokens(self, facts: Facts) -> str | None:
        visual = 0
        if facts.has_image:
            found = None if facts.image is None else self.images.tokens(facts.image)
            if found is None:
                return "tokens_unknown"
            visual = found
        tokens = visual + round(facts.words * TOKENS_PER_WORD)
        return None if _within(tokens, self.spec.min_tokens, self.spec.max_tokens) else "tokens"


def _within(value: int, low: int | None, high: int | None) -> bool:
    return (low is None or value >= low) and (high is None or value <= high)
