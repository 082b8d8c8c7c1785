"""The one resumable task loop: run work items in parallel, skip the finished ones, isolate and retry failures.

Every stage and executor uses ``run_tasks``; a task is finished when ``is_done(item)`` says so (typically a
completion marker the work writes last), so killing a run and starting it again redoes only unfinished items.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar

T = TypeVar("T")
R = TypeVar("R")

log = logging.getLogger(__name__)

Status = Literal["done", "skipped", "failed"]


@dataclass(frozen=True)
class Outcome(Generic[R]):
    key: str
    status: Status
    value: R | None = None
    error: str | None = None
    attempts: int = 0


@dataclass
class TaskReport(Generic[R]):
    outcomes: list[Outcome[R]] = field(default_factory=list)

    def _with(self, status: Status) -> list[Outcome[R]]:
        return [o for o in self.outcomes if o.status == status]

    @property
    def done(self) -> list[Outcome[R]]:
        return self._with("done")

    @property
    def skipped(self) -> list[Outcome[R]]:
        return self._with("skipped")

    @property
    def failed(self) -> list[Outcome[R]]:
        return self._with("failed")

    @property
    def ok(self) -> bool:
        return not self.failed


@dataclass(frozen=True)
class RetryPolicy:
    """How many extra attempts a failed task gets, and the exponential backoff with jitter between them."""

    retries: int = 0
    base_delay: float = 1.0
    max_delay: float = 60.0
    retry_on: tuple[type[Exception], ...] = (Exception,)

    def delay(self, attempt: int, failure: BaseException | None = None) -> float:
        """Seconds to wait before retry ``attempt``: what the failure asks for (a ``retry_after`` attribute,
        e.g. from an HTTP Retry-After header), else exponential backoff with jitter; never over ``max_delay``."""
        hinted = getattr(failure, "retry_after", None)
        if isinstance(hinted, int | float):
            return min(self.max_delay, max(0.0, float(hinted)))
        return min(self.max_delay, self.base_delay * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)


NO_RETRY = RetryPolicy()


def _attempt(work: Callable[[T], R], item: T, key: str, policy: RetryPolicy) -> Outcome[R]:
    """Run one task: failures of ``policy.retry_on`` are retried, any other exception fails it at once."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return Outcome(key, "done", work(item), attempts=attempt)
        except Exception as exc:  # noqa: BLE001 -- a task's failure is data, never a crash of the loop
            if not isinstance(exc, policy.retry_on) or attempt > policy.retries:
                log.warning("task %s failed after %d attempt(s): %s", key, attempt, exc)
                return Outcome(key, "failed", error=f"{type(exc).__name__}: {exc}", attempts=attempt)
            wait = policy.delay(attempt, exc)
            log.info("task %s failed (%s); retry %d in %.1fs", key, exc, attempt, wait)
            time.sleep(wait)


def _executor(jobs: int, pool: Literal["thread", "process"]) -> Executor:
    if pool == "process":
        return ProcessPoolExecutor(max_workers=jobs)
    return ThreadPoolExecutor(max_workers=jobs)


def run_tasks(
    items: Iterable[T],
    work: Callable[[T], R],
    *,
    key: Callable[[T], str] = str,
    jobs: int = 1,
    is_done: Callable[[T], bool] | None = None,
    retry: RetryPolicy = NO_RETRY,
    pool: Literal["thread", "process"] = "thread",
    on_outcome: Callable[[Outcome[R]], None] | None = None,
) -> TaskReport[R]:
    """Run ``work(item)`` for every unfinished item with ``jobs`` workers; never raises for a task's failure.

    Outcomes are reported in completion order through ``on_outcome`` and returned in input order.
    With ``pool="process"`` the work runs in worker processes (``work`` and items must pickle) and retries
    happen inside the worker.
    """
    report: TaskReport[R] = TaskReport()
    order: dict[str, int] = {}
    todo: list[tuple[str, T]] = []
    for item in items:
        k = key(item)
        order[k] = len(order)
        if is_done is not None and is_done(item):
            _emit(report, Outcome(k, "skipped"), on_outcome)
        else:
            todo.append((k, item))
    if jobs <= 1 and pool == "thread":
        for k, item in todo:
            _emit(report, _attempt(work, item, k, retry), on_outcome)
    else:
        with _executor(jobs, pool) as ex:
            futures: dict[Future[Outcome[R]], str] = {ex.submit(_attempt, work, item, k, retry): k for k, item in todo}
            for fut in as_completed(futures):
                _emit(report, _result(fut, futures[fut]), on_outcome)
    report.outcomes.sort(key=lambda o: order[o.key])
    return report


def _result(fut: Future[Outcome[R]], key: str) -> Outcome[R]:
    try:
        return fut.result()
    except Exception as exc:  # noqa: BLE001 -- a worker process died or the result did not pickle
        return Outcome(key, "failed", error=f"{type(exc).__name__}: {exc}", attempts=1)


def _emit(report: TaskReport[R], outcome: Outcome[R], on_outcome: Callable[[Outcome[R]], None] | None) -> None:
    report.outcomes.append(outcome)
    if on_outcome is not None:
        on_outcome(outcome)


class Progress:
    """Receives progress of long work (bytes, files); the CLI subclasses it to draw bars. Does nothing itself."""

    def start(self, key: str, total: int | None, unit: str = "B", *, completed: int = 0) -> None:
        """Work ``key`` begins; ``total`` units are expected (None when unknown), ``completed`` already done."""

    def advance(self, key: str, n: int) -> None:
        """``n`` more units of ``key`` are done."""

    def finish(self, key: str) -> None:
        """Work ``key`` is over (successfully or not)."""


NULL_PROGRESS = Progress()
