"""The stats report: what a mix is made of, as counts and distribution summaries (and raw figures for plots)."""

from __future__ import annotations

from array import array
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


def summary(values: Any) -> dict[str, float]:
    """count, min, mean, median, p95, max of a sequence of numbers ({} when empty)."""
    data = sorted(values)
    if not data:
        return {}
    n = len(data)
    return {
        "count": n,
        "min": data[0],
        "mean": round(sum(data) / n, 2),
        "median": data[n // 2],
        "p95": data[min(n - 1, int(n * 0.95))],
        "max": data[-1],
    }


@dataclass
class SourceStats:
    records: int = 0
    images: int = 0  # unique image paths
    prefixes: set[str] = field(default_factory=set)


@dataclass
class StatsReport:
    """Result of ``compute_stats``; per-record arrays feed the plots, ``to_json`` carries their summaries."""

    mix: str
    records: int = 0
    with_image: int = 0
    text_only: int = 0
    malformed: int = 0  # records the training code cannot read at all (see ``llavamix verify``)
    by_source: dict[str, SourceStats] = field(default_factory=dict)
    turns: array = field(default_factory=lambda: array("H"))
    lengths: array = field(default_factory=lambda: array("i"))  # the sampler's ``lengths``
    modality_lengths: array = field(default_factory=lambda: array("i"))  # negative for text-only records
    images: int = 0  # unique image paths
    sizes: list[tuple[int, int]] = field(default_factory=list)  # (w, h) of readable images, when a root was given
    unreadable: int = 0  # images whose header could not be read, ``outside_root`` included
    outside_root: int = 0  # image paths that leave the root (absolute, climbing with ..; or empty): never opened
    visual_tokens: array = field(default_factory=lambda: array("i"))  # per readable image, anyres estimate

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "records": self.records,
            "with_image": self.with_image,
            "text_only": self.text_only,
            "malformed": self.malformed,
            "by_source": {
                k: {"records": v.records, "images": v.images, "prefixes": sorted(v.prefixes)}
                for k, v in sorted(self.by_source.items(), key=lambda kv: -kv[1].records)
            },
            "turns": {str(k): v for k, v in sorted(Counter(self.turns).items())},
            "lengths": summary(self.lengths),
            "modality_lengths": summary(self.modality_lengths),
            "images": self.images,
        }
        if self.sizes or self.unreadable:
            out["image_sizes"] = {
                "readable": len(self.sizes),
                "unreadable": self.unreadable,
                "outside_root": self.outside_root,
                "width": summary(w for w, _ in self.sizes),
                "height": summary(h for _, h in self.sizes),
            }
            out["visual_tokens"] = summary(self.visual_tokens)
        return out
