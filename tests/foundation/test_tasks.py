"""The resumable task loop: skipping finished items, retries, isolation of failures (kept as the exceptions
raised, from worker processes too), order, process pools, and stopping promptly (Ctrl-C, a full disk, a
configuration error) with queued tasks dropped and running ones stopped."""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path

import pytest

from llavamix.foundation.errors import InUseError, MixFormatError, UnsafePathError
from llavamix.foundation.tasks import CANCEL, Cancelled, Outcome, RetryPolicy, WorkerError, run_tasks

SLOW = 20.0  # seconds a long task would run if nothing stopped it


class Flaky(Exception):
    def __init__(self, retry_after: float | None = None) -> None:
        super().__init__("flaky")
        self.retry_after = retry_after


def square(x: int) -> int:
    if x < 0:
        raise ValueError(f"negative: {x}")
    return x * x


def pid_of(_: int) -> int:
    return os.getpid()


@pytest.mark.parametrize("jobs", [1, 3])
def test_outcomes_in_input_order_and_failures_isolated(jobs: int) -> None:
    seen: list[Outcome[int]] = []
    report = run_tasks([3, -1, 2, 5], square, jobs=jobs, on_outcome=seen.append)
    assert [o.key for o in report.outcomes] == ["3", "-1", "2", "5"]
    assert [o.value for o in report.done] == [9, 4, 25]
    assert [o.key for o in report.failed] == ["-1"]
    assert report.failed[0].error == "ValueError: negative: -1"
    failure = report.failures["-1"]
    assert isinstance(failure, ValueError) and failure.args == ("negative: -1",), "the exception itself, kept"
    assert failure.__traceback__ is None, "an outcome does not keep the failed task's frames alive"
    assert not report.ok
    assert sorted(o.key for o in seen) == sorted(["3", "-1", "2", "5"])


def test_finished_items_are_skipped_not_run(tmp_path: Path) -> None:
    done = {2}
    calls: list[int] = []
    report = run_tasks([1, 2, 3], lambda x: calls.append(x) or x, is_done=lambda x: x in done)
    assert calls == [1, 3]
    assert [o.status for o in report.outcomes] == ["done", "skipped", "done"]


def test_retries_until_success_then_gives_up() -> None:
    attempts: dict[int, int] = {}

    def work(x: int) -> int:
        attempts[x] = attempts.get(x, 0) + 1
        if attempts[x] <= x:
            raise Flaky(retry_after=0)
        return x

    report = run_tasks([1, 2, 5], work, retry=RetryPolicy(retries=2, base_delay=0, retry_on=(Flaky,)))
    assert [(o.key, o.status, o.attempts) for o in report.outcomes] == [
        ("1", "done", 2),
        ("2", "done", 3),
        ("5", "failed", 3),
    ]


def test_errors_outside_retry_on_are_not_retried() -> None:
    calls = []

    def work(x: int) -> int:
        calls.append(x)
        raise KeyError(x)

    report = run_tasks([7], work, retry=RetryPolicy(retries=3, base_delay=0, retry_on=(Flaky,)))
    assert calls == [7] and report.failed[0].attempts == 1


def test_delay_honours_a_hint_within_the_cap_else_backs_off() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0)
    assert policy.delay(1, Flaky(retry_after=3)) == 3.0
    assert policy.delay(1, Flaky(retry_after=120)) == 8.0
    assert 2.0 <= policy.delay(3, Flaky()) <= 4.0  # 1 * 2**2 with jitter in [0.5, 1]
    assert policy.delay(10) == pytest.approx(8.0, rel=0.5)


def test_process_pool_runs_in_other_processes() -> None:
    report = run_tasks([1, 2, 3, 4], pid_of, jobs=2, pool="process")
    assert report.ok
    assert os.getpid() not in {o.value for o in report.done}


def long_task(started: list[int]) -> object:
    """Item 0 ends at once; every other item works for SLOW seconds, checking for a stop as real loops do."""

    def work(x: int) -> int:
        started.append(x)
        deadline = time.monotonic() + (0 if x == 0 else SLOW)
        while time.monotonic() < deadline:
            CANCEL.check()
            time.sleep(0.01)
        return x

    return work


def interrupt(_: Outcome) -> None:
    raise KeyboardInterrupt("Ctrl-C")  # what Ctrl-C raises in the main thread while it waits for outcomes


def test_ctrl_c_drops_queued_tasks_and_stops_running_ones() -> None:
    started: list[int] = []
    began = time.monotonic()
    with pytest.raises(KeyboardInterrupt, match=r"^Ctrl-C$"):  # the very interrupt, not another
        run_tasks(range(8), long_task(started), jobs=2, on_outcome=interrupt)
    assert time.monotonic() - began < SLOW / 2, "the running task was not stopped"
    assert set(started) <= {0, 1, 2}, "queued tasks were started after the interrupt"
    assert not CANCEL.cancelled, "the stop request outlived the run it stopped"


def nap(x: int) -> int:
    if x:
        time.sleep(SLOW)
    return x


def test_ctrl_c_terminates_worker_processes() -> None:
    began = time.monotonic()
    with pytest.raises(KeyboardInterrupt, match=r"^Ctrl-C$"):  # the very interrupt, not another
        run_tasks([0, 1, 2, 3], nap, jobs=2, pool="process", on_outcome=interrupt)
    assert time.monotonic() - began < SLOW / 2, "the run waited for its worker processes"


def test_ctrl_c_cuts_a_retry_backoff_short() -> None:
    attempts: list[str] = []

    def work(x: str) -> str:
        attempts.append(x)
        if x == "flaky":
            raise Flaky(retry_after=SLOW)
        return x

    policy = RetryPolicy(retries=1, max_delay=SLOW, retry_on=(Flaky,))
    began = time.monotonic()
    with pytest.raises(KeyboardInterrupt, match=r"^Ctrl-C$"):  # the very interrupt, not another
        run_tasks(["flaky", "quick"], work, key=str, jobs=2, retry=policy, on_outcome=interrupt)
    assert time.monotonic() - began < SLOW / 2, "the backoff ran to its end"
    assert attempts.count("flaky") == 1


def test_a_stop_raised_in_a_task_is_never_counted_as_its_failure() -> None:
    def work(x: int) -> int:
        raise Cancelled()

    for jobs in (1, 3):
        with pytest.raises(Cancelled, match="SIGINT"):
            run_tasks([1, 2, 3], work, jobs=jobs)


def fill_the_disk(started: list[int]) -> object:
    slow = long_task(started)

    def work(x: int) -> int:
        if x != 1:
            return slow(x)  # type: ignore[operator]
        started.append(x)
        with open("/dev/full", "wb") as full:  # a real ENOSPC from a real write
            full.write(b"x")
            full.flush()
        return x

    return work


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("jobs", [1, 2])
def test_a_full_disk_stops_the_whole_run(jobs: int) -> None:
    started: list[int] = []
    began = time.monotonic()
    with pytest.raises(OSError, match="No space left on device") as err:
        run_tasks(range(8), fill_the_disk(started), jobs=jobs)
    assert err.value.errno == errno.ENOSPC
    assert time.monotonic() - began < SLOW / 2, "the other running task was not stopped"
    # the worker that hit the full disk may take one more item before the stop request is set, never more
    assert set(started) <= {0, 1, 2, 3}, "tasks after the full disk were started"
    assert not CANCEL.cancelled


class HalfWritten(Exception):
    """An exception that pickles but cannot be rebuilt from its pickle (its __init__ wants two arguments)."""

    def __init__(self, path: str, why: str) -> None:
        super().__init__(f"{path}: {why}")


def break_on(x: int) -> int:
    if x == 1:
        raise MixFormatError("m.json: not a JSON array at byte 0; pass the mix file")
    if x == 2:
        raise HalfWritten("a.jpg", "half written")
    return square(x)


def test_a_process_pools_failures_keep_their_type() -> None:
    report = run_tasks([0, 1, 2, -3], break_on, jobs=2, pool="process")
    failures = report.failures
    assert list(failures) == ["1", "2", "-3"] and [o.value for o in report.done] == [0]
    assert isinstance(failures["1"], MixFormatError) and str(failures["1"]).startswith("m.json: not a JSON array")
    assert isinstance(failures["-3"], ValueError) and str(failures["-3"]) == "negative: -3"
    # what cannot be rebuilt in this process comes back as its type's name and its message, not a broken pool
    unpicklable = failures["2"]
    assert isinstance(unpicklable, WorkerError) and unpicklable.type_name == "HalfWritten"
    assert report.failed[1].error == "HalfWritten: a.jpg: half written"


def misconfigured(started: list[int]) -> object:
    slow = long_task(started)

    def work(x: int) -> int:
        if x != 1:
            return slow(x)  # type: ignore[operator]
        started.append(x)
        raise UnsafePathError("catalog value '../x' climbs out of the downloads folder; fix the catalog")

    return work


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_configuration_error_stops_the_whole_run(jobs: int) -> None:
    started: list[int] = []
    began = time.monotonic()
    with pytest.raises(UnsafePathError, match=r"^catalog value '\.\./x' climbs out"):
        run_tasks(range(8), misconfigured(started), jobs=jobs)
    assert time.monotonic() - began < SLOW / 2, "the other running task was not stopped"
    assert set(started) <= {0, 1, 2, 3}, "tasks after the configuration error were started"
    assert not CANCEL.cancelled


def in_use(x: int) -> int:
    if x == 1:
        raise InUseError("data root d is in use by pid 7; wait for it, or stop it and rerun")
    return nap(x)


def test_a_configuration_error_in_a_worker_process_stops_the_run() -> None:
    began = time.monotonic()
    with pytest.raises(InUseError, match=r"^data root d is in use by pid 7"):
        run_tasks([0, 1, 2, 3], in_use, jobs=2, pool="process")
    assert time.monotonic() - began < SLOW / 2, "the run waited for its worker processes"
