"""What the builder needs to know of one record (its image path, id, turns' text, sampler length), read leniently:
a record of the wrong shape is still copied (verify judges it), it only has no image, id or text to go by."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec

from llavamix.foundation.records import IMAGE_TOKEN, decode_with
from llavamix.foundation.records.lengths import IMAGE_LENGTH, count_words


class _Shape(msgspec.Struct):
    id: Any = None
    image: Any = msgspec.UNSET
    conversations: Any = None


_decode = msgspec.json.Decoder(_Shape).decode


@dataclass(frozen=True)
class Facts:
    """One record as the filters, selects and dedup see it; ``image`` is None for a text-only (or malformed)
    record, and for a null or non-string ``image`` (then ``has_image`` is still true, as in training)."""

    id: Any
    image: str | None
    has_image: bool
    turns: tuple[tuple[str, str], ...]  # (from, value) of each well-formed turn
    raw: bytes | msgspec.Raw

    @property
    def words(self) -> int:
        """Words of every turn (``str.split()`` tokens), as the reference sampler counts them."""
        return count_words([value for _, value in self.turns])

    @property
    def length(self) -> int:
        """The reference sampler's length (words, +128 with an image)."""
        return self.words + (IMAGE_LENGTH if self.has_image else 0)

    def id_key(self) -> int | None:
        """A 64-bit digest of the id's JSON (``1`` and ``"1"`` differ), None for a record without an id."""
        return None if self.id is None else digest(msgspec.json.encode(self.id))

    def text_key(self) -> int:
        """A 64-bit digest of the conversation as text: roles and values, ``<image>`` removed, case folded,
        whitespace collapsed; a malformed record's digest is of its bytes."""
        if not self.turns:
            return digest(bytes(self.raw))
        norm = "\x01".join(
            f"{role}\x00{' '.join(value.replace(IMAGE_TOKEN, ' ').casefold().split())}" for role, value in self.turns
        )
        return digest(norm.encode("utf-8", "surrogatepass"))


def digest(data: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


def read_facts(raw: bytes | msgspec.Raw, path: Path, index: int) -> Facts:
    """The facts of record ``index`` of ``path``; MixFormatError when its bytes are not JSON text (the output
    would not be JSON either)."""
    try:
        shape = decode_with(_decode, raw, path, index)
    except msgspec.ValidationError:
        return Facts(None, None, False, (), raw)  # not an object: copied as it is, judged by verify
    image = shape.image if isinstance(shape.image, str) else None
    return Facts(shape.id, image, shape.image is not msgspec.UNSET, _turns(shape.conversations), raw)


def _turns(conversations: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(conversations, list):
        return ()
    return tuple(
        (str(t.get("from")), t["value"])
        for t in conversations
        if isinstance(t, dict) and isinstance(t.get("value"), str)
    )
