"""The task loop's ``needs``: a task starts only once the tasks it needs finished (or were skipped as done), a failed
need fails its dependents without running them, and needs that wait on each other fail instead of hanging."""

from __future__ import annotations

import threading

import pytest

from llavamix.foundation.tasks import NeedFailed, NeedsCycle, Outcome, run_tasks

NEEDS = {"mix": [], "crawl": ["mix"], "report": ["crawl"], "coco": []}


class Journal:
    """Records each task's start and end; ``hold`` makes a task wait (up to ``patience`` s) for another to start."""

    def __init__(self, hold: dict[str, str] | None = None, fail: frozenset[str] = frozenset()) -> None:
        self.events: list[tuple[str, str]] = []
        self.lock = threading.Lock()
        self.started = {k: threading.Event() for k in NEEDS}
        self.hold, self.fail = hold or {}, fail

    def __call__(self, key: str) -> str:
        with self.lock:
            self.events.append(("start", key))
        self.started[key].set()
        if key in self.hold:  # a dependent that started too early would be seen here
            self.started[self.hold[key]].wait(1.0)
        with self.lock:
            self.events.append(("end", key))
        if key in self.fail:
            raise RuntimeError(f"{key} broke")
        return key

    def before(self, first: str, then: str) -> bool:
        return self.events.index(("end", first)) < self.events.index(("start", then))


@pytest.mark.parametrize("jobs", [1, 3])
def test_a_task_starts_after_what_it_needs(jobs: int) -> None:
    journal = Journal(hold={"mix": "crawl"})  # mix lingers until crawl starts, if crawl could start that early
    report = run_tasks(["report", "crawl", "mix", "coco"], journal, jobs=jobs, needs=NEEDS.__getitem__)
    assert [o.status for o in report.outcomes] == ["done"] * 4
    assert [o.key for o in report.outcomes] == ["report", "crawl", "mix", "coco"], "input order, as always"
    assert journal.before("mix", "crawl") and journal.before("crawl", "report")


def test_a_failed_need_fails_its_dependents_unrun() -> None:
    journal = Journal(fail=frozenset({"mix"}))
    seen: list[Outcome[str]] = []
    report = run_tasks(
        ["mix", "crawl", "report", "coco"], journal, jobs=2, needs=NEEDS.__getitem__, on_outcome=seen.append
    )
    status = {o.key: (o.status, o.error) for o in report.outcomes}
    assert status["coco"] == ("done", None)
    assert status["crawl"] == ("failed", "not run: it needs 'mix', which failed")
    assert status["report"] == ("failed", "not run: it needs 'crawl', which failed")
    need = report.failures["report"]
    assert isinstance(need, NeedFailed) and need.need == "crawl", "the failure is an object naming the need"
    assert {k for _, k in journal.events} == {"mix", "coco"}, "neither dependent ran"
    assert sorted(o.key for o in seen) == sorted(NEEDS), "every outcome is reported"


def test_a_skipped_need_counts_as_finished_and_unknown_keys_are_ignored() -> None:
    journal = Journal()
    needs = {**NEEDS, "coco": ["not-in-this-run"]}
    report = run_tasks(["mix", "crawl", "coco"], journal, is_done=lambda k: k == "mix", needs=needs.__getitem__)
    assert [o.status for o in report.outcomes] == ["skipped", "done", "done"]


@pytest.mark.parametrize("jobs", [1, 2])
def test_needs_that_wait_on_each_other_fail_instead_of_hanging(jobs: int) -> None:
    journal = Journal()
    loop = {"mix": ["crawl"], "crawl": ["mix"], "coco": []}
    report = run_tasks(["mix", "crawl", "coco"], journal, jobs=jobs, needs=loop.__getitem__)
    status = {o.key: (o.status, o.error) for o in report.outcomes}
    assert status == {
        "mix": ("failed", "not run: its needs ['crawl'] wait on it"),
        "crawl": ("failed", "not run: its needs ['mix'] wait on it"),
        "coco": ("done", None),
    }
    cycle = report.failures["mix"]
    assert isinstance(cycle, NeedsCycle) and cycle.needs == ("crawl",)
