"""The build's first pass: every input is streamed once and each record gets its place (the select it falls
to, or -1 when the filter or dedup leaves it out), two bytes a record; then the recipe's data-dependent errors
(a select matching nothing, a weight that cannot be met, a stale verify report) are raised, before any output."""

from __future__ import annotations

from array import array
from collections import Counter, deque
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from llavamix.foundation.errors import ConfigError
from llavamix.foundation.io import hash_file
from llavamix.foundation.tasks import CANCEL, NULL_PROGRESS, Progress
from llavamix.mix.dedup import Deduplicator, dedup_keys, unreadable
from llavamix.mix.facts import read_facts
from llavamix.mix.filters import RecordFilter, error_indices
from llavamix.mix.images import InputImages
from llavamix.mix.inputs import iter_raws
from llavamix.mix.manifest import InputCounts, SelectCounts
from llavamix.mix.recipe import LoadedRecipe
from llavamix.mix.sample import KEEP, Quota, quota, unmet
from llavamix.mix.select import Matcher, first_match

LEFT_OUT = -1
BATCH = 1 << 16  # records between progress updates and stop checks (the second pass)
DESCRIBE_BATCH = 1024  # records a process describes at once in the first pass


@dataclass
class Plan:
    recipe: LoadedRecipe
    paths: list[Path]  # each input's local file
    slots: list[array] = field(default_factory=list)  # per input, per record: its select, or LEFT_OUT
    inputs: list[InputCounts] = field(default_factory=list)
    selects: list[SelectCounts] = field(default_factory=list)  # each select, then the rest
    quotas: list[Quota] = field(default_factory=list)
    filtered: Counter[str] = field(default_factory=Counter)
    duplicates: Counter[str] = field(default_factory=Counter)
    unreadable_images: int = 0


def make_plan(
    recipe: LoadedRecipe, local: Mapping[str, Path], progress: Progress = NULL_PROGRESS, jobs: int = 1
) -> Plan:
    """Scan every input (``local``: the file of an input given by URL) and settle each record's select; ``jobs``
    processes describe the records."""
    paths = [local.get(i.name) or recipe.local(i.path) for i in recipe.recipe.input]
    plan = Plan(recipe, paths, selects=_select_counts(recipe))
    scanner = _Scanner(plan, progress, jobs)
    for n, path in enumerate(paths):
        scanner.scan(n, path)
    _settle(plan)
    return plan


def _select_counts(recipe: LoadedRecipe) -> list[SelectCounts]:
    counts = [SelectCounts(f"#{k} {s.describe()}", s.action) for k, s in enumerate(recipe.recipe.select, 1)]
    return [*counts, SelectCounts("rest (matched by no select)", "keep")]


class _Scanner:
    """The first pass over the inputs, in recipe order (dedup's "first occurrence" spans them all)."""

    def __init__(self, plan: Plan, progress: Progress, jobs: int) -> None:
        self.plan, self.progress, self.jobs = plan, progress, jobs
        recipe = plan.recipe
        self.matchers = [Matcher(s, recipe.source_prefixes.get(s.source or "", [])) for s in recipe.recipe.select]
        self.dedup = Deduplicator(recipe.recipe.dedup)

    def scan(self, n: int, path: Path) -> None:
        plan, item = self.plan, self.plan.recipe.recipe.input[n]
        counts = InputCounts(item.name, item.path, path.stat().st_size, hash_file(path, "sha256"))
        report = plan.recipe.verify_report(n)
        expected, errors = error_indices(report) if report is not None else (None, frozenset[int]())
        images = InputImages(plan.recipe.local(item.root))
        check = RecordFilter(plan.recipe.recipe.filter, images, errors)
        duplicates_before = sum(plan.duplicates.values())
        slots = self._slots(item.name, path, check, images)
        counts.records = len(slots)
        counts.after_dedup = len(slots) - slots.count(LEFT_OUT)
        counts.after_filter = counts.after_dedup + sum(plan.duplicates.values()) - duplicates_before
        if expected is not None and expected != counts.records:
            raise ConfigError(
                f"verify report {report} counts {expected} records but input {item.name!r} has "
                f"{counts.records}; it was made for another file: run llavamix verify on "
                f"{item.path} again and pass that report"
            )
        plan.slots.append(slots)
        plan.inputs.append(counts)

    def _slots(self, name: str, path: Path, check: RecordFilter, images: InputImages) -> array:
        slots, key = array("h"), f"mix scan {name}"
        describer = Describer(name, path, self.matchers, check, images, self.dedup.by)
        self.progress.start(key, None, "records")
        for described in _described(describer, path, self.jobs):
            slots.extend(self._place(d) for d in described)
            self.progress.advance(key, len(described))
            CANCEL.check()
        self.progress.finish(key)
        return slots

    def _place(self, described: Described) -> int:
        """A record fell to select ``k``: counted there, then left out (LEFT_OUT) or kept (``k``)."""
        k, reason, keys, unreadable_image = described
        counts = self.plan.selects[k]
        counts.matched += 1
        if reason is not None:
            self.plan.filtered[reason] += 1
            return LEFT_OUT
        counts.after_filter += 1
        self.plan.unreadable_images += unreadable_image
        duplicate = self.dedup.settle(keys)
        if duplicate is not None:
            self.plan.duplicates[duplicate] += 1
            return LEFT_OUT
        counts.after_dedup += 1
        return k


Described = tuple[int, str | None, tuple[int | None, ...], int]  # select, filter reason, dedup keys, unreadable


@dataclass
class Describer:
    """What the first pass learns of each record on its own (its select, the filter's verdict, its dedup keys):
    no state shared between records, so batches of records are described in several processes at once; the
    order-dependent part (counts, dedup's first occurrence) stays with the scanner."""

    name: str
    path: Path
    matchers: list[Matcher]
    check: RecordFilter
    images: InputImages
    by: Sequence[str]

    def describe(self, batch: list[tuple[int, bytes]]) -> list[Described]:
        return [self._one(i, raw) for i, raw in batch]

    def _one(self, i: int, raw: bytes) -> Described:
        facts = read_facts(raw, self.path, i)
        k = first_match(self.matchers, self.name, facts)
        reason = self.check.reject(i, facts)
        if reason is not None:
            return k, reason, (), 0
        keys = dedup_keys(self.by, facts, self.images)
        return k, None, keys, unreadable(self.by, facts, keys)


_WORKER: Describer | None = None  # the describer of a pool process, set once when the process starts


def _start_worker(describer: Describer) -> None:
    global _WORKER
    _WORKER = describer


def _describe_in_worker(batch: list[tuple[int, bytes]]) -> list[Described]:
    assert _WORKER is not None
    return _WORKER.describe(batch)


def _described(describer: Describer, path: Path, jobs: int) -> Iterator[list[Described]]:
    """Each batch of the input's records described, in input order; ``jobs`` > 1 describes them in that many
    processes, a few batches ahead of the scanner."""
    batches = _batches(path)
    if jobs <= 1:
        yield from (describer.describe(batch) for batch in batches)
        return
    with ProcessPoolExecutor(jobs, initializer=_start_worker, initargs=(describer,)) as pool:
        ahead: deque[Future[list[Described]]] = deque()
        for batch in batches:
            ahead.append(pool.submit(_describe_in_worker, batch))
            if len(ahead) > jobs:
                yield ahead.popleft().result()
        while ahead:
            yield ahead.popleft().result()


def _batches(path: Path) -> Iterator[list[tuple[int, bytes]]]:
    batch: list[tuple[int, bytes]] = []
    for i, raw in enumerate(iter_raws(path)):
        batch.append((i, bytes(raw)))
        if len(batch) == DESCRIBE_BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _settle(plan: Plan) -> None:
    """Each select's quota and output count; ConfigError listing every select that matches nothing or whose
    weight cannot be met."""
    selects = plan.recipe.recipe.select
    problems = [
        f"select {c.label}: matches no record of the inputs; check its conditions (image prefixes "
        "are compared as written in the inputs, before image_prefix is added)"
        for c in plan.selects[: len(selects)]
        if c.matched == 0
    ]
    problems += [
        f"select {c.label}: {why}"
        for s, c in zip(selects, plan.selects, strict=False)
        if c.matched and (why := unmet(s, c.after_dedup))
    ]
    if problems:
        raise ConfigError(f"recipe {plan.recipe.path}: " + "; ".join(problems) + "; nothing was written")
    plan.quotas = [quota(s, c.after_dedup) for s, c in zip(selects, plan.selects, strict=False)] + [KEEP]
    for q, counts in zip(plan.quotas, plan.selects, strict=True):
        counts.out = q.total(counts.after_dedup)
