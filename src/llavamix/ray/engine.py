"""``RayEngine``: an ``Engine`` (the signature and contract of ``tasks.run_tasks``) that runs the work items as
Ray Data tasks. Items and outcomes travel pickled, in a few blocks per CPU of the cluster, each block one task: Ray
schedules them over the cluster and runs a task again when its worker dies; an item's own failure is data, as in
the local loop."""

from __future__ import annotations

import functools
import itertools
import pickle
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from llavamix.foundation.tasks import Outcome, TaskReport, run_one, stops_the_run
from llavamix.ray.faults import crash_if_armed
from llavamix.ray.session import connect

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class RayEngine:
    """Runs work on the Ray cluster at ``address``, or on a local instance of ``num_cpus`` CPUs (see ``connect``)."""

    address: str | None = None
    num_cpus: int | None = None

    def __call__(
        self,
        items: Iterable[T],
        work: Callable[[T], R],
        *,
        key: Callable[[T], str] = str,
        jobs: int = 1,
        is_done: Callable[[T], bool] | None = None,
        pool: Literal["thread", "process"] = "thread",
        on_outcome: Callable[[Outcome[R]], None] | None = None,
    ) -> TaskReport[R]:
        """As ``run_tasks``: finished items skipped, outcomes reported as they come and returned in input order;
        ``jobs`` and ``pool`` are the cluster's business here (a local instance has ``num_cpus``)."""
        order: dict[str, int] = {}
        todo: list[tuple[str, T]] = []
        skipped: list[Outcome[R]] = []
        for item in items:
            order[k := key(item)] = len(order)
            if is_done is not None and is_done(item):
                skipped.append(Outcome(k, "skipped"))
            else:
                todo.append((k, item))
        report: TaskReport[R] = TaskReport()
        for outcome in itertools.chain(skipped, self._run(work, todo)):
            report.outcomes.append(outcome)
            if on_outcome is not None:
                on_outcome(outcome)
        report.outcomes.sort(key=lambda o: order[o.key])
        return report

    def _run(self, work: Callable[[T], R], todo: list[tuple[str, T]]) -> Iterator[Outcome[R]]:
        if not todo:
            return
        ray = connect(self.address, self.num_cpus)
        rows = [{"item": pickle.dumps(pair)} for pair in todo]
        data = ray.data.from_items(rows, override_num_blocks=_blocks(len(rows), ray.cluster_resources()))
        done = data.map_batches(functools.partial(_run_batch, work), batch_size=None)
        try:
            for row in done.iter_rows():
                yield pickle.loads(row["outcome"])  # our own bytes, from our own tasks
        except Exception as exc:  # noqa: BLE001 - Ray wraps what a task raised; what stops the run is unwrapped
            raise _stopping(exc) or exc from None


BLOCKS_PER_CPU = 4  # tasks per CPU of the cluster: enough to balance the load, few enough that Ray's per-task
# cost (scheduling, a block, pickling: tens of ms) stays small beside the work


def _blocks(items: int, resources: dict[str, float]) -> int:
    """How many tasks the items are cut into: each runs its share one after the other, as the local loop would."""
    return max(1, min(items, BLOCKS_PER_CPU * int(resources.get("CPU", 1))))


def _run_batch(work: Callable[[Any], Any], batch: dict[str, Any]) -> dict[str, list[bytes]]:
    """A Ray task: each item of the batch run as the local loop runs it (``run_one``), its outcome pickled."""
    crash_if_armed()
    outcomes = [run_one(work, item, key) for key, item in map(pickle.loads, batch["item"])]
    return {"outcome": [pickle.dumps(o) for o in outcomes]}


def _stopping(exc: BaseException) -> BaseException | None:
    """What stops the run (a configuration error, a full disk) inside Ray's wrapping of a task's exception."""
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        cause = getattr(link, "cause", None)  # RayTaskError keeps the task's exception here
        if isinstance(cause, BaseException) and stops_the_run(cause):
            return cause
        if link is not exc and stops_the_run(link):
            return link
        link = link.__cause__ or link.__context__
    return None
