"""``MixSource``: a mix opened for random access, whichever file holds it (the JSON array or its index).

``records.MixFile`` (the JSON) and ``formats.index.MixIndex`` (``llavamix index``'s file) both implement it, so a
reader such as the training dataset takes either without asking which it has.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from llavamix.foundation.records.model import Record


@runtime_checkable
class MixSource(Protocol):
    """Records ``0 .. len-1`` of one mix, each readable on its own."""

    path: Path  # the file the records come from, for messages

    def __len__(self) -> int: ...

    def raw(self, i: int) -> bytes:
        """Record ``i``'s exact JSON bytes."""
        ...

    def record(self, i: int) -> Record:
        """Record ``i`` decoded strictly: msgspec.ValidationError when it is not a record, MixFormatError when its
        bytes are not JSON text."""
        ...

    def sampler_lengths(self) -> tuple[list[int], list[int]]:
        """Every record's ``(lengths, modality_lengths)`` as the reference sampler measures them
        (``records.lengths``); MixFormatError or msgspec.ValidationError for a record that cannot be measured."""
        ...
