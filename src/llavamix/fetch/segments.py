"""The segment map of a download spread over several connections: which byte ranges of ``<dest>.part`` hold the
file's bytes, who is filling which, and how work is handed out (the next piece in file order, else half of the
biggest segment left, else the whole of a silent one). Saved beside the part (``<dest>.part.segments``, written
atomically) so that a rerun after kill -9 resumes every segment where it stopped.

Not thread-safe: the download that owns a map holds its lock around every call.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

from llavamix.foundation.io import atomic_write_text

log = logging.getLogger(__name__)

MAP_SUFFIX = ".part.segments"


class Unusable(Exception):
    """A saved map that cannot be trusted (unreadable, or not a map of one file): its part's bytes are unknown."""


def map_path(dest: Path) -> Path:
    return dest.with_name(dest.name + MAP_SUFFIX)


@dataclass
class Segment:
    """Bytes ``[start, end)`` of the file, the first ``done`` of them written; the rest is only in memory."""

    start: int
    end: int  # moves down when another connection takes over the segment's tail
    done: int = 0
    owner: int | None = None  # the connection filling it
    pending: int = 0  # bytes being written right now after ``done``: never handed to another connection
    heard: float = 0.0  # when it last received bytes (or was claimed), time.monotonic()

    @property
    def pos(self) -> int:
        return self.start + self.done

    @property
    def left(self) -> int:
        return self.end - self.pos

    @property
    def free_from(self) -> int:
        """The first byte another connection could take from it."""
        return self.pos + self.pending


@dataclass
class SegmentMap:
    total: int
    validator: str | None
    segments: list[Segment] = field(default_factory=list)  # in file order, covering [0, total) exactly

    @classmethod
    def fresh(cls, total: int, validator: str | None, prefix: int) -> SegmentMap:
        """A map for a part whose first ``prefix`` bytes are already there."""
        head = [Segment(0, prefix, prefix)] if prefix else []
        return cls(total, validator, [*head, Segment(prefix, total)] if prefix < total else head)

    # ---- what is there
    @property
    def frontier(self) -> int:
        """How many bytes from the file's start are all written."""
        for seg in self.segments:
            if seg.left:
                return seg.pos
        return self.total

    @property
    def written(self) -> int:
        return sum(seg.done for seg in self.segments)

    @property
    def unowned(self) -> int:
        """Bytes still to fetch that no connection has taken."""
        return sum(seg.left for seg in self.segments if seg.owner is None)

    @property
    def complete(self) -> bool:
        return all(not seg.left for seg in self.segments)

    # ---- handing out work
    def claim(self, owner: int, piece: int, now: float) -> Segment | None:
        """The first unowned bytes, at most ``piece`` of them; None when every byte left has an owner."""
        for i, seg in enumerate(self.segments):
            if seg.owner is None and seg.left:
                if seg.left > piece:
                    self.segments.insert(i + 1, Segment(seg.pos + piece, seg.end))
                    seg.end = seg.pos + piece
                seg.owner, seg.heard = owner, now
                return seg
        return None

    def extend(self, seg: Segment, piece: int, limit: int) -> bool:
        """Grow ``seg``, whose connection streams on up to ``limit``, by the next piece if nobody has it."""
        i = self.segments.index(seg)
        nxt = self.segments[i + 1] if i + 1 < len(self.segments) else None
        if nxt is None or nxt.owner is not None or nxt.done or nxt.start != seg.end or limit <= seg.end:
            return False
        grow = min(piece, nxt.end - nxt.start, limit - seg.end)
        seg.end += grow
        nxt.start += grow
        if nxt.start == nxt.end:
            del self.segments[i + 1]
        return True

    def steal(self, owner: int, min_rest: int, silent_since: float, now: float) -> tuple[Segment, Segment] | None:
        """(taken, victim): the whole rest of a segment that received nothing since ``silent_since``, else the
        second half of the biggest owned segment with at least ``min_rest`` left; None when neither."""
        owned = [s for s in self.segments if s.owner is not None and s.owner != owner and s.end > s.free_from]
        silent = [s for s in owned if s.pending == 0 and s.heard <= silent_since]
        if silent:
            victim, cut = silent[0], silent[0].pos
        else:
            big = [s for s in owned if s.end - s.free_from >= min_rest]
            if not big:
                return None
            victim = max(big, key=lambda s: s.end - s.free_from)
            cut = victim.free_from + (victim.end - victim.free_from) // 2
        taken = Segment(cut, victim.end, owner=owner, heard=now)
        self.segments.insert(self.segments.index(victim) + 1, taken)
        victim.end = cut
        return taken, victim

    def workable(self, min_rest: int, silent_since: float) -> bool:
        """Would ``claim`` or ``steal`` find something now (without changing anything)?"""
        return any(_takeable(seg, min_rest, silent_since) for seg in self.segments)

    def release(self, seg: Segment) -> None:
        """Its connection gave it up: anyone may continue it."""
        seg.owner, seg.pending = None, 0

    def compact(self) -> None:
        """Merge neighbouring finished segments nobody owns, and drop empty ones."""
        out: list[Segment] = []
        for seg in self.segments:
            if seg.start == seg.end and seg.owner is None:
                continue
            prev = out[-1] if out else None
            if prev is not None and _idle_full(prev) and _idle_full(seg):
                prev.end = seg.end
                prev.done = seg.end - prev.start
                continue
            out.append(seg)
        self.segments = out

    # ---- on disk
    def to_json(self) -> str:
        spans = [[s.start, s.end, s.done] for s in self.segments]
        return json.dumps({"total": self.total, "validator": self.validator, "segments": spans})


def _takeable(seg: Segment, min_rest: int, silent_since: float) -> bool:
    if seg.owner is None:
        return seg.left > 0
    rest = seg.end - seg.free_from
    return rest >= min_rest or (rest > 0 and seg.pending == 0 and seg.heard <= silent_since)


def _idle_full(seg: Segment) -> bool:
    return seg.owner is None and not seg.left


def save(smap: SegmentMap, dest: Path) -> None:
    """Write the map atomically (a kill leaves the old one or the new one); not fsynced: it guards against a killed
    process, whose written bytes the kernel keeps, not against a power cut (the final checksum is for that)."""
    smap.compact()
    atomic_write_text(map_path(dest), smap.to_json(), durable=False)


def load(dest: Path, part_size: int) -> SegmentMap | None:
    """The saved map of ``dest``'s part, its segments cut back to the ``part_size`` bytes the part really holds
    (a kill may come between a truncation and the map's removal); None when there is none; Unusable when it
    cannot be trusted."""
    path = map_path(dest)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise Unusable(f"{path} is unreadable ({exc})") from None
    smap = _parse(text)
    if smap is None:
        raise Unusable(f"{path} is not a segment map")
    for seg in smap.segments:
        seg.done = max(0, min(seg.done, part_size - seg.start))
    return smap


def _parse(text: str) -> SegmentMap | None:
    try:
        raw = json.loads(text)
        total, validator = raw["total"], raw["validator"]
        segments = [Segment(int(a), int(b), int(c)) for a, b, c in raw["segments"]]
    except (ValueError, TypeError, KeyError):
        return None
    if not isinstance(total, int) or not (validator is None or isinstance(validator, str)):
        return None
    smap = SegmentMap(total, validator, segments)
    return smap if _covers(smap) else None


def _covers(smap: SegmentMap) -> bool:
    """Segments in order, each within itself, together exactly ``[0, total)``."""
    at = 0
    for seg in smap.segments:
        if seg.start != at or seg.end < seg.start or not 0 <= seg.done <= seg.end - seg.start:
            return False
        at = seg.end
    return at == smap.total


def remove(dest: Path) -> None:
    map_path(dest).unlink(missing_ok=True)
