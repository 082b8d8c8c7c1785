"""The list page's filters over the index: which records a query selects, one page at a time.

Image prefix, source, problem code and id are vectorised over the index's columns (Arrow compute; the mask of a
filter is kept for the next page). Text search streams the records' bytes batch by batch and stops at a full page
or after ``SCAN_LIMIT`` records, handing back where the next page's scan starts: it never reads the whole mix for
one page.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import msgspec

from llavamix.browse.images import Refused
from llavamix.browse.problems import ProblemBook
from llavamix.foundation.extras import require
from llavamix.foundation.formats.index import MixIndex
from llavamix.foundation.records.groups import TEXT_ONLY

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

PER_PAGE = 50
MAX_PER_PAGE = 500  # a bigger page is refused: it would no longer be instant
SCAN_LIMIT = 250_000  # records one text-search request reads before it hands back a "search on" link
RAW_SAFE = frozenset('"\\/')  # characters JSON may escape: a query holding one is matched on decoded text only


@dataclass(frozen=True)
class Query:
    """One list request: the filters (empty = any), the page (``page`` for the column filters, ``start``: the
    record a text search starts scanning from) and its size."""

    prefix: str = ""
    source: str = ""
    problem: str = ""
    text: str = ""
    id: str = ""
    page: int = 0
    start: int = 0
    per: int = PER_PAGE

    @classmethod
    def parse(cls, params: Mapping[str, list[str]]) -> Query:
        """The query of a URL's parameters; Refused (400) for an unknown name, a bad number or a huge page."""
        known = {f.name: f.type for f in fields(cls)}
        values: dict[str, Any] = {}
        for name, given in params.items():
            if name not in known:
                raise Refused(400, f"unknown list parameter {name!r}; use {', '.join(known)}")
            values[name] = _number(name, given[-1]) if name in ("page", "start", "per") else given[-1].strip()
        query = cls(**values)
        if not 1 <= query.per <= MAX_PER_PAGE:
            raise Refused(400, f"per={query.per}: a page holds 1 to {MAX_PER_PAGE} records; ask for fewer")
        return query

    def url(self, **changes: Any) -> str:
        """The list URL of this query with ``changes``; defaults are left out."""
        changed = replace(self, **changes)
        default = Query()
        pairs = {f.name: getattr(changed, f.name) for f in fields(self)}
        return "/?" + urlencode({k: v for k, v in pairs.items() if v != getattr(default, k)})

    @property
    def filtered(self) -> bool:
        return any((self.prefix, self.source, self.problem, self.text, self.id))


def _number(name: str, text: str) -> int:
    if not text.strip().isdigit():
        raise Refused(400, f"{name}={text!r}: give a whole number of 0 or more")
    return int(text)


@dataclass(frozen=True)
class Listing:
    """The records of one page (mix indices, in order). ``total``: every match (None for a text search, which
    stops at the page); ``next_start``: where the next text-search page starts scanning (None: the mix ended);
    ``scanned``: the records that search read."""

    rows: list[int]
    total: int | None = None
    next_start: int | None = None
    scanned: int = 0


class Finder:
    """Answers queries over one index; ``sources`` maps a source name to its image prefixes (folders)."""

    def __init__(self, index: MixIndex, problems: ProblemBook, sources: Mapping[str, list[str]]) -> None:
        self.index = index
        self.problems = problems
        self.sources = dict(sources)
        self.mask = functools.lru_cache(maxsize=32)(self._mask)  # paging through one filter reuses its mask

    def listing(self, query: Query) -> Listing:
        mask = self.mask(query.prefix, query.source, query.problem, query.id)
        if query.text:
            return self._search(query, mask)
        np = require("numpy")
        rows = np.flatnonzero(mask) if mask is not None else None
        total = len(self.index) if rows is None else len(rows)
        lo = query.page * query.per
        page = range(lo, min(total, lo + query.per))
        return Listing([int(rows[k]) if rows is not None else k for k in page], total)

    def _mask(self, prefix: str, source: str, problem: str, id: str) -> np.ndarray | None:
        """The records matching every column filter given (None: no filter, every record)."""
        masks = [
            make()
            for given, make in (
                (prefix, lambda: self._prefixes([prefix])),
                (source, lambda: self._source(source)),
                (problem, lambda: self._problem(problem)),
                (id, lambda: self._id(id)),
            )
            if given
        ]
        return functools.reduce(lambda a, b: a & b, masks) if masks else None

    def _bools(self, column: pa.ChunkedArray, test: Callable[[pa.Array], pa.Array]) -> np.ndarray:
        pc = require("pyarrow.compute")
        np = require("numpy")
        parts = [pc.fill_null(test(chunk), False).to_numpy(zero_copy_only=False) for chunk in column.chunks]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=bool)

    def _prefixes(self, prefixes: list[str]) -> np.ndarray:
        pc = require("pyarrow.compute")
        column = self.index.table.column("image")
        masks = [self._bools(column, functools.partial(pc.starts_with, pattern=p)) for p in prefixes]
        return functools.reduce(lambda a, b: a | b, masks)

    def _source(self, source: str) -> np.ndarray:
        if source == TEXT_ONLY:
            pc = require("pyarrow.compute")
            return self._bools(self.index.table.column("has_image"), pc.invert)
        if source not in self.sources:
            names = ", ".join([*sorted(self.sources), TEXT_ONLY])
            raise Refused(400, f"unknown source {source!r}; use one of {names}, or filter by image prefix")
        return self._prefixes([p.rstrip("/") + "/" for p in self.sources[source]])

    def _problem(self, code: str) -> np.ndarray:
        np = require("numpy")
        if self.problems.path is None:
            raise Refused(400, "no verify report: start browse with --report R.json to filter by problem")
        if code not in self.problems.codes():
            codes = ", ".join(self.problems.codes()) or "none"
            raise Refused(400, f"no record of the report has the problem {code!r}; codes found: {codes}")
        mask = np.zeros(len(self.index), dtype=bool)
        mask[[i for i in self.problems.indices(code) if i < len(mask)]] = True
        return mask

    def _id(self, id: str) -> np.ndarray:
        pc = require("pyarrow.compute")
        found = self._bools(self.index.table.column("id_str"), lambda c: pc.equal(c, id))
        if id.lstrip("-").isdigit() and -(2**63) <= int(id) < 2**63:
            found |= self._bools(self.index.table.column("id_int"), lambda c: pc.equal(c, int(id)))
        return found

    def _search(self, query: Query, mask: np.ndarray | None) -> Listing:
        """Scan from ``query.start`` for records whose conversation mentions ``query.text`` (case-insensitive)."""
        needle, rows = query.text.lower(), []
        end = min(len(self.index), query.start + SCAN_LIMIT)
        pos = query.start
        for lo, raws in self._batches(query.start, end):
            for j in self._candidates(raws, query.text, None if mask is None else mask[lo : lo + len(raws)]):
                if _mentions(raws[j].as_py(), needle):
                    rows.append(lo + j)
                    if len(rows) == query.per:
                        return Listing(rows, None, lo + j + 1, lo + j + 1 - query.start)
            pos = lo + len(raws)
        return Listing(rows, None, pos if pos < len(self.index) else None, pos - query.start)

    def _batches(self, start: int, end: int) -> Iterator[tuple[int, pa.Array]]:
        """(first record, raw bytes) of each record batch's part within ``start .. end``."""
        first = 0
        for chunk in self.index.table.column("raw").chunks:
            lo, hi = max(start, first), min(end, first + len(chunk))
            if lo < hi:
                yield lo, chunk.slice(lo - first, hi - lo)
            first += len(chunk)

    def _candidates(self, raws: pa.Array, text: str, mask: np.ndarray | None) -> list[int]:
        """Positions worth decoding: for a query JSON writes as it is, those whose bytes hold it (Arrow, in C)."""
        np = require("numpy")
        if text.isascii() and text.isprintable() and not RAW_SAFE & set(text):
            pc = require("pyarrow.compute")
            hits = pc.match_substring(raws, text, ignore_case=True).to_numpy(zero_copy_only=False)
        else:
            hits = np.ones(len(raws), dtype=bool)
        if mask is not None:
            hits &= mask
        return np.flatnonzero(hits).tolist()


class _Turns(msgspec.Struct):
    conversations: Any = None  # every other key is skipped unparsed


_turns = msgspec.json.Decoder(_Turns).decode


def _mentions(raw: bytes, needle: str) -> bool:
    """Whether a turn's text of the record ``raw`` holds ``needle`` (lower-cased)."""
    try:
        turns = _turns(raw).conversations
    except msgspec.DecodeError:
        return False  # not an object: nothing to search in
    if not isinstance(turns, list):
        return False
    return any(isinstance(t, dict) and isinstance(t.get("value"), str) and needle in t["value"].lower() for t in turns)
