"""What a build reports and writes beside its output: the counts per input and per select before and after each
step (``BuildReport``), the manifest ``NEW.manifest.json`` (recipe hash, inputs with size and sha256, the counts)
and the provenance sidecar ``NEW.provenance.jsonl`` (one ``{"input", "index"}`` line per output record)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from llavamix.foundation.io import atomic_write_bytes


@dataclass
class InputCounts:
    """One input: its records, and how many are left after the filter, after dedup, and in the output."""

    name: str
    path: str
    size: int = 0
    sha256: str = ""
    records: int = 0
    after_filter: int = 0
    after_dedup: int = 0
    out: int = 0


@dataclass
class SelectCounts:
    """One select (or the rest, matched by none): records it matched, left after the filter and after dedup,
    and written (copies counted)."""

    label: str
    action: str
    matched: int = 0
    after_filter: int = 0
    after_dedup: int = 0
    out: int = 0


@dataclass
class BuildReport:
    out: Path
    manifest: Path
    provenance: Path
    recipe_sha256: str
    seed: int
    records: int = 0
    inputs: list[InputCounts] = field(default_factory=list)
    selects: list[SelectCounts] = field(default_factory=list)
    filtered: dict[str, int] = field(default_factory=dict)  # filter reason -> records left out
    duplicates: dict[str, int] = field(default_factory=dict)  # dedup key -> records left out
    unreadable_images: int = 0  # images dedup could not read (their records are kept)

    def to_json(self) -> dict[str, Any]:
        """The manifest: no time or absolute path, so a rebuild writes the same bytes."""
        return {
            "recipe_sha256": self.recipe_sha256,
            "seed": self.seed,
            "out": self.out.name,
            "records": self.records,
            "inputs": [asdict(i) for i in self.inputs],
            "selects": [asdict(s) for s in self.selects],
            "filtered": dict(sorted(self.filtered.items())),
            "duplicates": dict(sorted(self.duplicates.items())),
            "unreadable_images": self.unreadable_images,
        }

    def write_manifest(self) -> None:
        atomic_write_bytes(self.manifest, msgspec.json.format(msgspec.json.encode(self.to_json()), indent=2) + b"\n")


def sidecar_paths(out: Path) -> tuple[Path, Path]:
    """``(NEW.manifest.json, NEW.provenance.jsonl)`` beside the output ``NEW.json``."""
    stem = out.name[: -len(".json")] if out.name.endswith(".json") else out.name
    return out.with_name(stem + ".manifest.json"), out.with_name(stem + ".provenance.jsonl")


def provenance_line(input_name: str, index: int) -> bytes:
    return msgspec.json.encode({"input": input_name, "index": index}) + b"\n"
