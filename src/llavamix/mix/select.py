"""Which ``[[select]]`` a record belongs to: the first whose every condition holds (records matched by none form
the "rest", kept as they are)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from llavamix.mix.facts import Facts
from llavamix.mix.recipe import Select


class Matcher:
    """One select's conditions, compiled."""

    def __init__(self, select: Select, source_prefixes: Sequence[str]) -> None:
        self.select = select
        self.prefixes = tuple(p.rstrip("/") + "/" for p in source_prefixes)
        self.pattern = None if select.id_pattern is None else re.compile(select.id_pattern)

    def matches(self, input_name: str, facts: Facts) -> bool:
        s = self.select
        if s.input is not None and s.input != input_name:
            return False
        if s.text_only is not None and s.text_only == facts.has_image:
            return False
        if s.image_prefix is not None and not (facts.image or "").startswith(s.image_prefix):
            return False
        if self.prefixes and not (facts.image or "").startswith(self.prefixes):
            return False
        return self.pattern is None or _id_matches(self.pattern, facts.id)


def _id_matches(pattern: re.Pattern[str], value: object) -> bool:
    """Whether the id, as text (an integer id in decimal), matches ``pattern`` in full; other ids never do."""
    if not isinstance(value, str | int) or isinstance(value, bool):
        return False
    return pattern.fullmatch(str(value)) is not None


def first_match(matchers: Sequence[Matcher], input_name: str, facts: Facts) -> int:
    """The index of the first matching select, or ``len(matchers)`` (the rest)."""
    for k, matcher in enumerate(matchers):
        if matcher.matches(input_name, facts):
            return k
    return len(matchers)
