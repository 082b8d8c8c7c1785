"""How many copies of each record a select keeps (cap, weight; keep and drop trivially), chosen with a seeded
generator so that the same recipe and inputs always give the same output.

A select that keeps ``total`` of its ``kept`` records gives each ``total // kept`` copies and one more to
``total % kept`` of them, chosen by selection sampling (Knuth's algorithm S) in input order: one pass, no list of
records, exact counts.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import msgspec

from llavamix.mix.recipe import Select


@dataclass(frozen=True)
class Quota:
    """Every record of the select appears ``base`` times, ``extra`` of them once more."""

    base: int
    extra: int

    def total(self, kept: int) -> int:
        return self.base * kept + self.extra


KEEP = Quota(1, 0)


def quota(select: Select, kept: int) -> Quota:
    """The quota of ``select`` over its ``kept`` records (those left after the filter and dedup)."""
    if select.action == "keep":
        return KEEP
    if select.action == "drop" or kept == 0:
        return Quota(0, 0)
    if select.action == "cap":
        return KEEP if (select.count or 0) >= kept else Quota(0, select.count or 0)
    total = select.count if select.count is not None else round((select.fraction or 0) * kept)
    return Quota(total // kept, total % kept)


def unmet(select: Select, kept: int) -> str | None:
    """Why ``select``'s weight cannot be met by its ``kept`` records, or None."""
    if select.action != "weight":
        return None
    wanted = select.count if select.count is not None else (select.fraction or 0) * kept
    if kept == 0:
        return f"weight asks for {wanted:g} records but none is left after the filter and dedup"
    if not select.repeat and wanted > kept:
        return (
            f"weight asks for {wanted:g} records but only {kept} are left and repeat = false; lower it, or "
            "allow repeats with repeat = true"
        )
    if select.count is None and round(wanted) == 0:
        return f"weight fraction {select.fraction} of {kept} records is 0 records; raise it or use count"
    return None


class Draw:
    """The copies of each record of one select, in input order (one ``copies()`` call per record)."""

    def __init__(self, seed: int, select: Select | None, quota: Quota, kept: int) -> None:
        described = b"rest" if select is None else msgspec.json.encode(select)
        self.rng = random.Random(f"llavamix mix {seed} {described.decode()}")  # str seeds hash stably (sha512)
        self.quota, self.need, self.left = quota, quota.extra, kept

    def copies(self) -> int:
        pick = self.need > 0 and self.rng.randrange(self.left) < self.need
        self.left -= 1
        self.need -= pick
        return self.quota.base + pick
