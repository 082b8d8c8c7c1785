"""The resumable task loop: skipping finished items, retries, isolation of failures, order, process pools."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from llavamix.tasks import Outcome, RetryPolicy, run_tasks


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
