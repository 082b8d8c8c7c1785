"""``needs``: the sources that must be laid out before a source; ``needs_one_of``: alternatives, one of which must
be (OCR-VQA crawls the keys of whichever instruction mixes are there: mix1M, LLaVA-1.5's or ShareGPT4V's).

Checked when the catalog loads (every name a source of the catalog, no source needing itself, no cycle), and
used to widen a selection to what it needs: every ``needs`` name, and the first of ``needs_one_of`` when the
selection holds none of them. A source runs after every source it names that is in the same run.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llavamix.catalog.schema import Source


def needs_problem(sources: Sequence[Source]) -> str | None:
    """Why the ``needs`` of ``sources`` cannot be met (an unknown name, a cycle), or None."""
    names = [s.name for s in sources]
    for src in sources:
        for need in waits_for(src):
            if need not in names:
                close = difflib.get_close_matches(need, names, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                return f"source {src.name!r}: needs {need!r}, which is no source of this catalog{hint}"
    cycle = _cycle({s.name: waits_for(s) for s in sources})
    if cycle:
        return f"the needs form a cycle: {' -> '.join(cycle)}; a source cannot wait for itself, remove one of them"
    return None


def _cycle(graph: dict[str, list[str]]) -> list[str]:
    """One cycle of ``graph`` (name -> names it needs) as a path that ends where it starts, or []."""
    state: dict[str, str] = {}  # "open" while on the current path, "done" once every path from it was followed

    def visit(name: str, path: list[str]) -> list[str]:
        state[name] = "open"
        for need in graph[name]:
            if state.get(need) == "open":
                return [*path[path.index(need) :], need]
            if need not in state and (found := visit(need, [*path, need])):
                return found
        state[name] = "done"
        return []

    for start in graph:
        if start not in state and (found := visit(start, [start])):
            return found
    return []


def waits_for(src: Source) -> list[str]:
    """Every source ``src`` runs after when they share a run: its needs and each of its alternatives."""
    return [*src.needs, *src.needs_one_of]


def with_needs(all_sources: Sequence[Source], chosen: Sequence[Source]) -> list[Source]:
    """``chosen`` and every source they need, directly or not, in catalog order; where a source needs one of
    several and the selection holds none, the first."""
    by_name = {s.name: s for s in all_sources}
    wanted: set[str] = set()
    todo = [s.name for s in chosen]
    while todo:
        while todo:
            name = todo.pop()
            if name not in wanted:
                wanted.add(name)
                todo.extend(by_name[name].needs)
        todo = [
            by_name[name].needs_one_of[0]
            for name in sorted(wanted)
            if by_name[name].needs_one_of and wanted.isdisjoint(by_name[name].needs_one_of)
        ][:1]  # one at a time: the first added may be an alternative of another
    return [s for s in all_sources if s.name in wanted]
