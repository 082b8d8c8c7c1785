"""``write_clean``: the mix without the records that have an error, in order, each record's bytes unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msgspec

from llavamix.foundation.errors import ConfigError
from llavamix.foundation.records import iter_windows, write_raw_array
from llavamix.verify.report import VerifyReport


def write_clean(mix: Path, report: VerifyReport, out: Path) -> int:
    """Write the error-free records of ``mix`` to ``out`` (atomically); returns how many were kept."""
    if Path(out).resolve() == Path(mix).resolve():
        raise ConfigError(f"--write-clean {out} is the mix itself; write the clean JSON to another file")
    drop = report.error_indices()
    kept = write_raw_array(Path(out), _kept(Path(mix), drop, report.records))
    return kept


def _kept(mix: Path, drop: set[int], expected: int) -> Iterator[msgspec.Raw]:
    seen = 0
    for window in iter_windows(mix):
        for i, raw in enumerate(window.raws, window.first):
            if i not in drop:
                yield raw
        seen = window.first + len(window.raws)
    if seen != expected:
        raise ConfigError(f"{mix} has {seen} records but the report counted {expected}; verify it again")
