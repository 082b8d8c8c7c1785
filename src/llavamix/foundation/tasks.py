"""The one resumable task loop: run work items in parallel, skip the finished ones, isolate and retry failures.

Every stage and executor uses ``run_tasks``; a task is finished when ``is_done(item)`` says so (typically a
completion marker the work writes last), so killing a run and starting it again redoes only unfinished items.

Stopping: when the main thread is interrupted (Ctrl-C's KeyboardInterrupt, or ``Cancelled`` from the CLI's SIGTERM
handler) inside ``run_tasks``, queued tasks are dropped, the process-wide ``CANCEL`` token is set so that running
tasks stop at their next check (long loops call ``CANCEL.check()``: each download chunk, each archive member),
worker processes are terminated, and the interruption is re-raised once every worker has stopped. A full disk
(ENOSPC, EDQUOT) and a configuration error (``ConfigError``: an unsafe path, a folder in use) stop a run the same
way: every other task would fail on them too.

Failures stay objects: a failed task's ``Outcome.failure`` is the exception it raised (from a worker process too,
or a ``WorkerError`` naming its type where it does not pickle), and a task that never ran because a task it needs
failed has a ``NotRun`` (``NeedFailed``, ``NeedsCycle``). ``failure_text`` is how any of them reads.
"""

from __future__ import annotations

import concurrent.futures  # its process pool (and multiprocessing) imported on first use, by runs that use it
import contextlib
import errno
import functools
import logging
import pickle
import random
import signal
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Generic, Literal, Protocol, TypeVar

from llavamix.foundation.errors import ConfigError, LlavamixError

T = TypeVar("T")
R = TypeVar("R")

log = logging.getLogger(__name__)

Status = Literal["done", "skipped", "failed"]


@dataclass(frozen=True)
class Outcome(Generic[R]):
    key: str
    status: Status
    value: R | None = None
    failure: BaseException | None = None  # what a failed task raised, or why it never ran (NotRun)
    attempts: int = 0

    @property
    def error(self) -> str | None:
        """How the failure reads (``failure_text``); None unless the task failed."""
        return None if self.failure is None else failure_text(self.failure)


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
    def failures(self) -> dict[str, BaseException]:
        """Each failed task's key and what it raised, in input order."""
        return {o.key: o.failure for o in self.failed if o.failure is not None}

    @property
    def ok(self) -> bool:
        return not self.failed


def failure_text(exc: BaseException) -> str:
    """How a failure reads: a llavamix error's own message (it already says what to do), else the exception's type
    and message (``ValueError: ...``), as for an error nobody foresaw."""
    if isinstance(exc, LlavamixError | WorkerError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


class WorkerError(Exception):
    """A task's exception that could not come back from its worker process as itself (it does not pickle): the
    name of its type and how it read there."""

    def __init__(self, type_name: str, text: str) -> None:
        super().__init__(type_name, text)
        self.type_name, self.text = type_name, text

    def __str__(self) -> str:
        return self.text


class NotRun(LlavamixError):
    """A task that never ran because of the tasks it needs (``needs``); one of the two kinds below."""

    def __init__(self, needs: tuple[str, ...], message: str) -> None:
        super().__init__(f"not run: {message}")
        self.needs = needs

    def __reduce__(self) -> tuple[type[NotRun], tuple[str, ...]]:
        return type(self), self.needs


class NeedFailed(NotRun):
    """A task it needs (``need``) failed."""

    def __init__(self, need: str) -> None:
        super().__init__((need,), f"it needs {need!r}, which failed")
        self.need = need


class NeedsCycle(NotRun):
    """The tasks it needs wait, directly or not, on it: none of them can start."""

    def __init__(self, *needs: str) -> None:
        super().__init__(tuple(sorted(needs)), f"its needs {sorted(needs)} wait on it")


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


class Cancelled(BaseException):
    """The run was asked to stop (Ctrl-C, SIGTERM); raised where long work checks ``CANCEL``.

    A BaseException, like KeyboardInterrupt, so that the ``except Exception`` that turns a task's failure into data
    never swallows a stop. ``signum`` is the signal that asked for it.
    """

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__(f"stopped by {signal.Signals(signum).name}")
        self.signum = signum


class CancelToken:
    """A process-wide request to stop: set by the main thread when it is interrupted, checked by long loops in
    every worker thread so that they stop within moments, keeping what they finished."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._signum: int = signal.SIGINT
        self._hooks: dict[int, Callable[[], None]] = {}
        self._lock = threading.Lock()

    def cancel(self, signum: int = signal.SIGINT) -> None:
        self._signum = signum
        self._event.set()
        with self._lock:
            hooks = list(self._hooks.values())
        for hook in hooks:
            _run_hook(hook)

    @contextlib.contextmanager
    def on_cancel(self, hook: Callable[[], None]) -> Iterator[None]:
        """Run ``hook`` if a stop is requested while the block runs (at once if one already was): for work that
        waits where no check can run, e.g. a socket read that a hang-up wakes."""
        key = id(hook)
        with self._lock:
            self._hooks[key] = hook
        try:
            if self.cancelled:
                _run_hook(hook)
            yield
        finally:
            with self._lock:
                self._hooks.pop(key, None)

    def clear(self) -> None:
        self._event.clear()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        """Raise Cancelled if a stop was requested."""
        if self._event.is_set():
            raise Cancelled(self._signum)

    def sleep(self, seconds: float) -> None:
        """``time.sleep`` that a stop request cuts short (then raises Cancelled)."""
        self._event.wait(max(0.0, seconds))
        self.check()


def _run_hook(hook: Callable[[], None]) -> None:
    try:
        hook()
    except Exception:  # a hook that fails must not keep the stop from reaching the others
        log.debug("stop hook %r failed", hook, exc_info=True)


CANCEL = CancelToken()


def stops_the_run(exc: BaseException) -> bool:
    """A configuration error (the run is set up wrong: an unsafe path, a folder in use), a full disk or an exhausted
    quota: every other task would fail the same way, so it is not a task's failure."""
    return isinstance(exc, ConfigError) or (isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT))


def _attempt(work: Callable[[T], R], item: T, key: str, policy: RetryPolicy, portable: bool = False) -> Outcome[R]:
    """Run one task: failures of ``policy.retry_on`` are retried, any other exception fails it at once; what stops
    the run is raised. ``portable``: the outcome goes back from a worker process, so its failure must pickle."""
    attempt = 0
    while True:
        attempt += 1
        CANCEL.check()  # a task dequeued after a stop request never starts
        try:
            return Outcome(key, "done", work(item), attempts=attempt)
        except Exception as exc:  # a task's failure is data, never a crash of the loop
            if stops_the_run(exc):
                raise
            if not isinstance(exc, policy.retry_on) or attempt > policy.retries:
                log.warning("task %s failed after %d attempt(s): %s", key, attempt, exc)
                log.debug("where task %s failed", key, exc_info=exc)  # -vv: the traceback the outcome drops
                return Outcome(key, "failed", failure=_kept(exc, portable), attempts=attempt)
            wait = policy.delay(attempt, exc)
            log.info("task %s failed (%s); retry %d in %.1fs", key, exc, attempt, wait)
            CANCEL.sleep(wait)


def _kept(exc: Exception, portable: bool) -> BaseException:
    """``exc`` as an outcome keeps it: without tracebacks (the outcomes of a crawl's 80,000 failures must not keep
    their frames alive) and, from a worker process, as something that pickles."""
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        link.__traceback__ = None
        link = link.__cause__ or link.__context__
    return _portable(exc) if portable else exc


def _portable(exc: BaseException) -> BaseException:
    """``exc`` if it comes back from a pickle as itself (the parent process unpickles it), else a WorkerError."""
    try:
        back = pickle.loads(pickle.dumps(exc))  # our own bytes, just written
    except Exception:  # noqa: BLE001 - rebuilding runs its __init__, which may raise anything
        back = None
    return exc if type(back) is type(exc) else WorkerError(type(exc).__name__, failure_text(exc))


def _executor(jobs: int, pool: Literal["thread", "process"]) -> Executor:
    if pool == "process":
        return concurrent.futures.ProcessPoolExecutor(max_workers=jobs, initializer=_quiet_worker)
    return ThreadPoolExecutor(max_workers=jobs)


def _quiet_worker() -> None:
    """Worker processes leave Ctrl-C to the parent (which terminates them) and die at once on SIGTERM: a forked
    worker would otherwise inherit the CLI's SIGTERM handler and go on to its next task."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


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
    needs: Callable[[T], Iterable[str]] | None = None,
) -> TaskReport[R]:
    """Run ``work(item)`` for every unfinished item with ``jobs`` workers; raises only what stops the run.

    Outcomes are reported in completion order through ``on_outcome`` and returned in input order.
    With ``pool="process"`` the work runs in worker processes (``work`` and items must pickle) and retries
    happen inside the worker. ``needs(item)``: keys of other items that must finish first (a skipped one counts
    as finished, keys outside ``items`` are ignored); a task whose need failed fails without running.
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
    schedule: _Schedule[T, R] = _Schedule(todo, needs)
    attempt = functools.partial(_attempt, work, policy=retry, portable=pool == "process")
    if jobs <= 1 and pool == "thread":
        _run_inline(schedule, attempt, report, on_outcome)
    else:
        _run_pool(_executor(jobs, pool), schedule, attempt, report, on_outcome)
    for outcome in schedule.stuck():
        _emit(report, outcome, on_outcome)
    report.outcomes.sort(key=lambda o: order[o.key])
    return report


def run_one(work: Callable[[T], R], item: T, key: str, retry: RetryPolicy = NO_RETRY) -> Outcome[R]:
    """One task as ``run_tasks`` runs it in a worker process (failures kept as data, and picklable; what stops the
    run raised): the per-item step another engine (``llavamix.ray``) runs where it schedules the items itself."""
    return _attempt(work, item, key, retry, portable=True)


class Engine(Protocol):
    """What runs a stage's per-item work: ``run_tasks`` itself (the local engine, the default), or another engine
    with its signature and contract (outcomes in input order, failures as data), such as ``llavamix.ray``'s."""

    def __call__(
        self,
        items: Iterable[T],
        work: Callable[[T], R],
        *,
        key: Callable[[T], str] = ...,
        jobs: int = ...,
        is_done: Callable[[T], bool] | None = ...,
        pool: Literal["thread", "process"] = ...,
        on_outcome: Callable[[Outcome[R]], None] | None = ...,
    ) -> TaskReport[R]: ...


class _Schedule(Generic[T, R]):
    """Which tasks may start: each waits until the tasks it needs (among this run's unfinished ones) are done.

    Only tasks that wait are tracked one by one: a run without needs (a crawl of 80,000 images) costs nothing."""

    def __init__(self, todo: list[tuple[str, T]], needs: Callable[[T], Iterable[str]] | None) -> None:
        self.free: list[tuple[str, T]] = todo if needs is None else []
        self.waiting: dict[str, tuple[T, set[str]]] = {}
        if needs is not None:
            self._hold(todo, needs)

    def _hold(self, todo: list[tuple[str, T]], needs: Callable[[T], Iterable[str]]) -> None:
        keys = {k for k, _ in todo}
        for k, item in todo:
            wait_for = set(needs(item)) & keys
            if wait_for:
                self.waiting[k] = (item, wait_for)
            else:
                self.free.append((k, item))

    def ready(self) -> list[tuple[str, T]]:
        """The tasks that wait for nothing any more (taken off the schedule)."""
        free, self.free = self.free, []
        return free

    def settle(self, outcome: Outcome[R]) -> list[Outcome[R]]:
        """Record ``outcome``; returns the failures of the tasks that will never run because it failed."""
        need = outcome.key
        if outcome.status != "failed":
            for k in self._after(need):
                item, wait_for = self.waiting[k]
                wait_for.discard(need)
                if not wait_for:
                    del self.waiting[k]
                    self.free.append((k, item))
            return []
        unrun = [Outcome[R](k, "failed", failure=NeedFailed(need)) for k in self._after(need)]
        for o in unrun:
            del self.waiting[o.key]
        return unrun + [u for o in unrun for u in self.settle(o)]

    def _after(self, key: str) -> list[str]:
        return [k for k, (_, wait_for) in self.waiting.items() if key in wait_for]

    def stuck(self) -> list[Outcome[R]]:
        """Failures of the tasks still waiting once nothing runs: their needs wait on each other."""
        out = [Outcome[R](k, "failed", failure=NeedsCycle(*w)) for k, (_, w) in self.waiting.items()]
        self.waiting.clear()
        return out


def _settle(
    schedule: _Schedule[T, R],
    outcome: Outcome[R],
    report: TaskReport[R],
    on_outcome: Callable[[Outcome[R]], None] | None,
) -> None:
    """Report ``outcome``, then the failures of the tasks it leaves unable to run."""
    for done in (outcome, *schedule.settle(outcome)):
        _emit(report, done, on_outcome)


def _run_inline(
    schedule: _Schedule[T, R],
    attempt: Callable[[T, str], Outcome[R]],
    report: TaskReport[R],
    on_outcome: Callable[[Outcome[R]], None] | None,
) -> None:
    """Run the tasks one after the other in this thread, each once the tasks it needs are done."""
    while batch := schedule.ready():
        for k, item in batch:
            _settle(schedule, attempt(item, k), report, on_outcome)


def _run_pool(
    ex: Executor,
    schedule: _Schedule[T, R],
    attempt: Callable[[T, str], Outcome[R]],
    report: TaskReport[R],
    on_outcome: Callable[[Outcome[R]], None] | None,
) -> None:
    """Submit every task to ``ex`` as soon as it needs nothing unfinished and collect the outcomes; any
    interruption winds the pool down first.

    Not a ``with`` block: its exit would wait for every running task again after a second Ctrl-C had cut the
    wind-down short."""
    try:
        futures: dict[Future[Outcome[R]], str] = {}
        while True:
            futures.update({ex.submit(attempt, item, k): k for k, item in schedule.ready()})
            if not futures:
                break
            finished, _ = wait(futures, return_when=FIRST_COMPLETED)
            for fut in finished:
                _settle(schedule, _result(fut, futures.pop(fut)), report, on_outcome)
    except BaseException as stop:
        _wind_down(ex, stop)
        raise
    ex.shutdown(wait=True)


def _wind_down(ex: Executor, stop: BaseException) -> None:
    """Stop a pool promptly after ``stop`` broke the loop: queued tasks are dropped, running ones are asked to
    stop (threads) or terminated (processes), and this returns once all have.

    Only the main thread, where signals arrive, sets the token: a nested loop in a worker thread that sees a task's
    Cancelled or full disk drops its own queue and lets the exception rise to the main thread's loop. The token is
    cleared once everything stopped, so a later run in this process starts afresh; a second interrupt during the
    wait leaves it set, so the stragglers still stop.
    """
    in_main = threading.current_thread() is threading.main_thread()
    if in_main:
        CANCEL.cancel(getattr(stop, "signum", signal.SIGINT))
    if isinstance(ex, concurrent.futures.ProcessPoolExecutor):
        _terminate_workers(ex)  # they cannot see this process's token
    ex.shutdown(wait=True, cancel_futures=True)
    if in_main:
        CANCEL.clear()


def _terminate_workers(ex: concurrent.futures.ProcessPoolExecutor) -> None:
    # the executor has no public way to stop running work before Python 3.14 (terminate_workers)
    processes = getattr(ex, "_processes", None) or {}
    for proc in list(processes.values()):
        proc.terminate()


def _result(fut: Future[Outcome[R]], key: str) -> Outcome[R]:
    try:
        return fut.result()
    except Exception as exc:  # a worker process died or the result did not pickle
        if stops_the_run(exc):
            raise
        return Outcome(key, "failed", failure=_kept(exc, portable=False), attempts=1)


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

    def detail(self, key: str, text: str) -> None:
        """A short word on how ``key`` runs now (a download's connections in use), shown beside its bar."""

    def finish(self, key: str) -> None:
        """Work ``key`` is over (successfully or not)."""


NULL_PROGRESS = Progress()
