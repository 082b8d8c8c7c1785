"""The verify report: counts per code and per source, and one problem entry per (record, problem)."""

from __future__ import annotations

from array import array
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import msgspec

from llavamix.foundation.io import atomic_write_bytes
from llavamix.foundation.records.problem import Problem
from llavamix.foundation.storage import StorageOptions, Target, check_output, local_output


@dataclass
class SourceCount:
    records: int = 0
    errors: int = 0


@dataclass
class Profile:
    """Per-record and per-image figures for the HTML plots (not part of the report JSON)."""

    turns: array = field(default_factory=lambda: array("H"))  # error-free records only
    words: array = field(default_factory=lambda: array("i"))  # the sampler's modality_lengths
    sizes: list[tuple[int, int]] = field(default_factory=list)  # (width, height) of every decoded image


@dataclass
class VerifyReport:
    """Result of ``verify_mix``; ``problems`` are in record order, each record has at most one error."""

    mix: str
    root: str
    deep: bool
    records: int = 0
    images: int = 0
    ok: int = 0
    problems: list[Problem] = field(default_factory=list)
    by_source: dict[str, SourceCount] = field(default_factory=dict)
    profile: Profile | None = None

    @property
    def errors(self) -> dict[str, int]:
        return dict(Counter(p.code for p in self.problems if p.is_error).most_common())

    @property
    def warnings(self) -> dict[str, int]:
        return dict(Counter(p.code for p in self.problems if not p.is_error).most_common())

    @property
    def error_count(self) -> int:
        """Records with an error (each has exactly one)."""
        return self.records - self.ok

    def error_indices(self) -> set[int]:
        return {p.index for p in self.problems if p.is_error}

    def to_json(self) -> dict[str, Any]:
        """The report in the documented format (DESIGN.md)."""
        return {
            "records": self.records,
            "images": self.images,
            "ok": self.ok,
            "errors": self.errors,
            "warnings": self.warnings,
            "by_source": {k: {"records": v.records, "errors": v.errors} for k, v in sorted(self.by_source.items())},
            "problems": [p.to_json() for p in self.problems],
        }

    def write_json(self, path: Target, storage_options: StorageOptions | None = None) -> None:
        """Write ``to_json()`` to ``path`` (a path or a URL) atomically."""
        check_output(path, storage_options)
        with local_output(path, storage_options) as local:
            atomic_write_bytes(local, msgspec.json.encode(self.to_json()) + b"\n", durable=False)
