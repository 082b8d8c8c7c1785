"""The record pass: check the records of one window of a mix and collect what the image pass needs.

A worker re-reads its window from the file by byte span, so no record bytes cross process boundaries, and
results travel compactly: images as a unique-path list plus an int array per record.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from llavamix.catalog import known_prefixes
from llavamix.foundation.errors import MixFormatError
from llavamix.foundation.layout import image_prefix
from llavamix.foundation.records import decode_with, read_span, read_window
from llavamix.foundation.records.groups import TEXT_ONLY, UNKNOWN
from llavamix.foundation.records.lengths import sample_lengths
from llavamix.foundation.records.rules import Finding, check_record

_decode = msgspec.json.Decoder().decode


@dataclass
class RecordScan:
    """What the record pass found in records ``[lo, hi)``: findings plus per-record image and source references."""

    lo: int
    hi: int
    findings: list[tuple[int, str, str]] = field(default_factory=list)  # (index, code, detail)
    ids: list[Any] = field(default_factory=list)  # per record; None when absent
    images: list[str] = field(default_factory=list)  # unique image paths of error-free records
    image_ref: array = field(default_factory=lambda: array("i"))  # per record: index into images, or -1
    sources: list[str] = field(default_factory=list)
    source_ref: array = field(default_factory=lambda: array("H"))  # per record: index into sources
    turns: array = field(default_factory=lambda: array("H"))  # per record, when profiling
    words: array = field(default_factory=lambda: array("i"))  # modality_lengths, when profiling
    # a worker's reason the file cannot be read, returned rather than raised so that it is reported once
    error: str = ""


class _Refs:
    """Interns strings into a list, returning small ints."""

    def __init__(self, values: list[str]) -> None:
        self.values = values
        self.index: dict[str, int] = {}

    def ref(self, value: str) -> int:
        i = self.index.get(value)
        if i is None:
            i = self.index[value] = len(self.values)
            self.values.append(value)
        return i


def scan_span(mix: Path, span: tuple[int, int, int], profile: bool = False) -> RecordScan:
    """Check the window ``(start, end, first)`` of ``mix`` (see ``iter_windows``); picklable process-pool work."""
    start, end, first = span
    try:
        return scan_raws(read_window(mix, start, end), first, profile, mix=mix)
    except MixFormatError as exc:
        return RecordScan(first, first, error=str(exc))


def scan_nominal(mix: Path, span: tuple[int, int], profile: bool = False) -> RecordScan:
    """Check the records starting in the byte range ``span`` (see ``plan_spans``), numbered from 0: the caller
    renumbers them with ``rebase`` once it knows how many records come before. A span that does not parse on
    its own (its end fell inside a string, or the file is malformed) comes back with ``error`` set."""
    try:
        return scan_raws(read_span(mix, *span), 0, profile, mix=mix)
    except (msgspec.DecodeError, MixFormatError) as exc:
        return RecordScan(0, 0, error=str(exc) or type(exc).__name__)


def rebase(scan: RecordScan, first: int) -> RecordScan:
    """Renumber a scan whose records were numbered from 0 so that they start at ``first``."""
    shift = first - scan.lo
    scan.lo, scan.hi = scan.lo + shift, scan.hi + shift
    scan.findings = [(i + shift, code, detail) for i, code, detail in scan.findings]
    return scan


def scan_raws(raws: list[msgspec.Raw], first: int, profile: bool = False, *, mix: Path | str = "mix") -> RecordScan:
    """Check records ``first, first+1, ...`` given as raw JSON; raises MixFormatError for a record that is not
    JSON text (not UTF-8, nested too deep)."""
    scan = RecordScan(first, first + len(raws))
    images, sources = _Refs(scan.images), _Refs(scan.sources)
    dir_source: dict[str, int] = {}
    for i, raw in enumerate(raws, first):
        rec = decode_with(_decode, raw, mix, i)
        found = check_record(rec)
        is_obj = type(rec) is dict
        scan.ids.append(rec.get("id") if is_obj else None)
        image = rec.get("image") if is_obj else None
        if type(image) is str:
            folder = image.rpartition("/")[0]
            src = dir_source.get(folder)
            if src is None:
                src = dir_source[folder] = sources.ref(image_prefix(image, known_prefixes()))
        else:
            src = sources.ref(TEXT_ONLY if is_obj and "image" not in rec else UNKNOWN)
        scan.source_ref.append(src)
        if isinstance(found, Finding):
            scan.findings.append((i, found.code, found.detail))
            scan.image_ref.append(-1)
        else:
            scan.findings.extend((i, f.code, f.detail) for f in found)
            scan.image_ref.append(images.ref(image) if type(image) is str else -1)
        if profile:
            _profile(scan, rec if type(found) is not Finding else None)
    return scan


def _profile(scan: RecordScan, rec: dict | None) -> None:
    """Turns and the sampler's modality length of an error-free record (0 for records with errors)."""
    if rec is None:
        scan.turns.append(0)
        scan.words.append(0)
        return
    conv = rec["conversations"]
    scan.turns.append(min(len(conv), 65535))
    scan.words.append(sample_lengths([t["value"] for t in conv], "image" in rec)[1])
