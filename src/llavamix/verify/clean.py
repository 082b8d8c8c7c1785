"""``write_clean``: the mix without the records that have an error, in order, each record's bytes unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import msgspec

from llavamix.foundation.errors import ConfigError
from llavamix.foundation.records import iter_windows, write_raw_array
from llavamix.foundation.storage import StorageOptions, Target, check_output, is_url, local_input, local_output
from llavamix.verify.report import VerifyReport


def write_clean(mix: Target, report: VerifyReport, out: Target, storage_options: StorageOptions | None = None) -> int:
    """Write the error-free records of ``mix`` to ``out`` (atomically; either may be a URL); returns how many were
    kept."""
    if _same(mix, out):
        raise ConfigError(f"--write-clean {out} is the mix itself; write the clean JSON to another file")
    check_output(out, storage_options)
    drop = report.error_indices()
    with local_input(mix, storage_options) as source, local_output(out, storage_options) as target:
        return write_raw_array(target, _kept(source, drop, report.records))


def _same(mix: Target, out: Target) -> bool:
    if is_url(mix) or is_url(out):
        return str(mix).rstrip("/") == str(out).rstrip("/")
    return Path(out).resolve() == Path(mix).resolve()


def _kept(mix: Path, drop: set[int], expected: int) -> Iterator[msgspec.Raw]:
    seen = 0
    for window in iter_windows(mix):
        for i, raw in enumerate(window.raws, window.first):
            if i not in drop:
                yield raw
        seen = window.first + len(window.raws)
    if seen != expected:
        raise ConfigError(f"{mix} has {seen} records but the report counted {expected}; verify it again")
