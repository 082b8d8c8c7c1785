"""A verify report (``llavamix verify --report R.json``) read for browsing: each record's problems, by index."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from llavamix.foundation.errors import ConfigError
from llavamix.foundation.records.problem import Problem
from llavamix.foundation.records.reasons import is_error


class _Report(msgspec.Struct):
    records: int
    problems: list[Problem] = msgspec.field(default_factory=list)


@dataclass(frozen=True)
class ProblemBook:
    """The problems of one verify report: ``by_index`` (record index -> its problems) and ``records``, the record
    count the report was made for (to catch a report of another mix)."""

    path: Path | None = None
    records: int | None = None
    by_index: dict[int, list[Problem]] = field(default_factory=dict)

    def codes(self) -> dict[str, int]:
        """Every code in the report with the number of records it marks, errors first, then by name."""
        counts: dict[str, int] = defaultdict(int)
        for problems in self.by_index.values():
            for code in {p.code for p in problems}:
                counts[code] += 1
        return dict(sorted(counts.items(), key=lambda kv: (not is_error(kv[0]), kv[0])))

    def indices(self, code: str) -> list[int]:
        """The records with a problem ``code``, in mix order."""
        return sorted(i for i, problems in self.by_index.items() if any(p.code == code for p in problems))


def read_problems(path: Path | None, records: int) -> ProblemBook:
    """The report at ``path`` (an empty book when None); ConfigError when it is not a verify report of a mix of
    ``records`` records."""
    if path is None:
        return ProblemBook()
    try:
        report = msgspec.json.decode(Path(path).read_bytes(), type=_Report)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"{path}: not a verify report ({exc}); make one with `llavamix verify MIX --report R.json`"
        ) from None
    if report.records != records:
        raise ConfigError(
            f"{path}: a verify report of {report.records:,} records, but the mix has {records:,}; "
            "verify this mix again with `llavamix verify MIX --root ROOT --report R.json`"
        )
    by_index: dict[int, list[Problem]] = defaultdict(list)
    for problem in report.problems:
        by_index[problem.index].append(problem)
    return ProblemBook(Path(path), report.records, dict(by_index))
