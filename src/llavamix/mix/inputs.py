"""Reading an input mix record by record, as exact JSON bytes: a JSON array (in windows of whole records) or
JSONL (one record a line), so a multi-GB input is streamed, never held."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msgspec

from llavamix.foundation.errors import ConfigError
from llavamix.foundation.io import open_regular
from llavamix.foundation.records import iter_windows

_WHITESPACE = b" \t\r\n"


def iter_raws(path: Path) -> Iterator[bytes | msgspec.Raw]:
    """Every record's JSON bytes, in file order; MixFormatError for a malformed array (where it is broken)."""
    if _first_byte(path) == b"[":
        for window in iter_windows(path):
            yield from window.raws
    else:
        yield from _jsonl(path)


def _first_byte(path: Path) -> bytes:
    with open_regular(path) as fh:
        head = fh.read(4096).lstrip(_WHITESPACE)
    if head.startswith(b"\xef\xbb\xbf"):  # a byte-order mark, as some editors write
        head = head[3:].lstrip(_WHITESPACE)
    if head[:1] not in (b"[", b"{"):
        raise ConfigError(
            f"input {path} is neither a JSON array nor JSONL (it starts with {head[:20]!r}); "
            "give a mix JSON ([{...}, ...]) or one JSON record a line"
        )
    return head[:1]


def _jsonl(path: Path) -> Iterator[bytes]:
    with open_regular(path) as fh:
        for line in fh:
            raw = line.strip(_WHITESPACE)
            if raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            if raw:
                yield raw
