"""``needs``: the sources that must be laid out before a source (OCR-VQA needs the mix JSON it picks keys from).

Checked when the catalog loads (every name a source of the catalog, no source needing itself, no cycle), and
used to widen a selection to what it needs.
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
        for need in src.needs:
            if need not in names:
                close = difflib.get_close_matches(need, names, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                return f"source {src.name!r}: needs {need!r}, which is no source of this catalog{hint}"
    cycle = _cycle({s.name: list(s.needs) for s in sources})
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


def with_needs(all_sources: Sequence[Source], chosen: Sequence[Source]) -> list[Source]:
    """``chosen`` and every source they need, directly or not, in catalog order."""
    by_name = {s.name: s for s in all_sources}
    wanted: set[str] = set()
    todo = [s.name for s in chosen]
    while todo:
        name = todo.pop()
        if name not in wanted:
            wanted.add(name)
            todo.extend(by_name[name].needs)
    return [s for s in all_sources if s.name in wanted]
