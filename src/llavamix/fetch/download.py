"""The resumable download loop shared by every scheme: retries with backoff, resume, progress, verification."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path

from llavamix.errors import ChecksumError, FetchError
from llavamix.fetch.limiter import HostLimiter
from llavamix.fetch.options import FetchOptions
from llavamix.fetch.part import PartFile
from llavamix.fetch.remote import Body, Expected, RangeRejected, Refused, Remote, Transient
from llavamix.io import human_bytes
from llavamix.tasks import RetryPolicy

log = logging.getLogger(__name__)

MAX_RETRY_AFTER = 900.0  # a server asking for more than 15 minutes is treated as asking for 15


@dataclass(frozen=True)
class Landed:
    size: int
    digest: str | None  # "algo:hex" that was verified
    resumed: bool


def manual_route(url: str, dest: Path) -> str:
    return f"download {url} by hand (e.g. in a browser), put it at {dest}, then rerun"


def download(
    remote: Remote, dest: Path, expected: Expected, options: FetchOptions, *, key: str, limiter: HostLimiter
) -> Landed:
    """Download ``remote`` to ``dest`` through ``dest.part``; a checksum mismatch gets one fresh try."""
    run = _Run(remote, dest, expected, options, key, limiter)
    try:
        return run.land()
    finally:
        run.end_progress()


class _Run:
    """One source's download: the part file, its attempts and its progress bar."""

    def __init__(
        self, remote: Remote, dest: Path, expected: Expected, options: FetchOptions, key: str, limiter: HostLimiter
    ) -> None:
        self.remote, self.dest, self.expected, self.options = remote, dest, expected, options
        self.key, self.limiter = key, limiter
        self.policy = RetryPolicy(retries=options.retries, base_delay=options.backoff, max_delay=options.max_backoff)
        self.progress_on = False
        self.shown = 0  # bytes the progress bar has been told about

    def land(self) -> Landed:
        problem = ""
        for round_ in (1, 2):
            part = PartFile(self.dest, self.expected.checksum[0] if self.expected.checksum else None)
            resumed = part.size > 0
            try:
                self.fill(part)
            except BaseException:
                part.abandon()
                raise
            part.close()
            problem = self.mismatch(part)
            if not problem:
                part.commit()
                return Landed(part.size, self.digest(part), resumed)
            log.warning("%s: %s; deleting it and downloading again from zero (try %d of 2)", self.dest, problem, round_)
            part.discard()
        raise ChecksumError(
            f"{self.remote.url} twice gave a file with {problem}; the server may be serving a "
            f"different version (update the catalog), or {manual_route(self.remote.url, self.dest)}"
        )

    def digest(self, part: PartFile) -> str | None:
        return f"{part.algo}:{part.hexdigest()}" if part.algo else None

    def mismatch(self, part: PartFile) -> str:
        size, checksum = self.expected.size, self.expected.checksum
        if size is not None and part.size != size:
            return f"{part.size} bytes where {size} were expected"
        if checksum is not None and part.hexdigest() != checksum[1]:
            return f"{checksum[0]} {part.hexdigest()} where {checksum[1]} was expected"
        return ""

    def fill(self, part: PartFile) -> None:
        """Append to ``part`` until the remote has no more bytes, retrying transient failures."""
        if self.expected.size is not None and part.size > self.expected.size:
            part.reset()
        if self.expected.size is not None and part.size == self.expected.size:
            return  # a previous run got every byte but stopped before the rename
        failures = 0
        while True:
            before = part.size
            try:
                with self.limiter.slot(self.remote.host), self.remote.open(part.size, part.validator) as body:
                    self.receive(body, part)
                return
            except RangeRejected:
                log.info("%s: cannot resume at byte %d; starting over", self.remote.url, part.size)
                part.reset()
                failures += 1
            except Refused as exc:
                raise FetchError(f"{exc}; {manual_route(self.remote.url, self.dest)}") from None
            except Transient as exc:
                failures = 1 if part.size > before else failures + 1  # progress earns a fresh set of retries
                self.pause(exc, failures)

    def pause(self, exc: Transient, failures: int) -> None:
        if failures > self.options.retries:
            raise FetchError(
                f"{self.remote.url}: {exc} (gave up after {failures} attempts); rerun to resume "
                f"where it stopped, or {manual_route(self.remote.url, self.dest)}"
            )
        wait = self.policy.delay(failures) if exc.retry_after is None else min(exc.retry_after, MAX_RETRY_AFTER)
        log.info("%s: %s; retry %d/%d in %.1fs", self.remote.url, exc, failures, self.options.retries, wait)
        time.sleep(wait)

    def receive(self, body: Body, part: PartFile) -> None:
        self.check_total(body)
        if body.start != part.size:  # the server sent the whole file instead of the rest
            part.reset()
        if body.start == 0:
            part.remember(body.validator)
        self.start_progress(body.total, part.size)
        for chunk in body.chunks:
            part.write(chunk)
            self.options.progress.advance(self.key, len(chunk))
            self.shown += len(chunk)
        if body.total is not None and part.size < body.total:
            raise Transient(f"connection closed after {human_bytes(part.size)} of {human_bytes(body.total)}")

    def check_total(self, body: Body) -> None:
        want = self.expected.size
        if want is not None and body.total is not None and body.total != want:
            raise ChecksumError(
                f"{self.remote.url} is {body.total} bytes where {want} were expected; the server may be serving a "
                f"different version (fix the catalog's size), or {manual_route(self.remote.url, self.dest)}"
            )

    def start_progress(self, total: int | None, done: int) -> None:
        """Start the bar, or restart it when the bytes on disk are no longer the ones it counted."""
        if self.progress_on and self.shown == done:
            return
        self.end_progress()
        total = self.expected.size if self.expected.size is not None else total
        self.options.progress.start(self.key, total, "B", completed=done)
        self.progress_on, self.shown = True, done

    def end_progress(self) -> None:
        if self.progress_on:
            self.options.progress.finish(self.key)
            self.progress_on = False
