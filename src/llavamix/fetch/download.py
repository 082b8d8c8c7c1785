"""The resumable download loop shared by every scheme: retries with backoff, resume, progress, verification, and
the bounds on a transfer (no more bytes than expected, free space for the rest, a minimum pace)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from llavamix.fetch.limiter import HostLimiter
from llavamix.fetch.options import FetchOptions
from llavamix.fetch.part import PartFile
from llavamix.fetch.remote import Body, Expected, RangeRejected, Refused, Remote, Transient
from llavamix.fetch.stall import StallWatch
from llavamix.foundation.errors import ChecksumError, DiskSpaceError, FetchError
from llavamix.foundation.io import free_bytes, human_bytes
from llavamix.foundation.tasks import CANCEL, RetryPolicy

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
            except ChecksumError:  # the bytes belong to another version (or overran it): no use to a resume
                part.discard()
                raise
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
        if self.expected.size is not None:
            self.check_space(self.expected.size, part.size)
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
        CANCEL.sleep(wait)  # Ctrl-C cuts a backoff short

    def receive(self, body: Body, part: PartFile) -> None:
        self.check_total(body)
        if body.start != part.size:  # the server sent the whole file instead of the rest
            part.reset()
        if body.start == 0:
            part.remember(body.validator)
        if self.expected.size is None and body.total is not None:
            self.check_space(body.total, part.size)
        self.start_progress(body.total, part.size)
        limit, watch = self.limit(body), StallWatch(self.options.pace)
        for chunk in body.chunks:
            if part.size + len(chunk) > limit:
                raise self.overrun(body, part.size + len(chunk))
            part.write(chunk)
            self.options.progress.advance(self.key, len(chunk))
            self.shown += len(chunk)
            watch.feed(len(chunk))
            CANCEL.check()  # Ctrl-C stops between chunks; the part file stays for a resume
        CANCEL.check()  # a stop hangs the connection up: the body may have ended for that, not at the file's end
        if body.total is not None and part.size < body.total:
            raise Transient(f"connection closed after {human_bytes(part.size)} of {human_bytes(body.total)}")

    def check_total(self, body: Body) -> None:
        want = self.expected.size
        if want is not None and body.total is not None and body.total != want:
            raise ChecksumError(
                f"{self.remote.url} is {body.total} bytes where {want} were expected; the server may be serving a "
                f"different version (fix the catalog's size), or {manual_route(self.remote.url, self.dest)}"
            )

    def limit(self, body: Body) -> int:
        """The most bytes the file may hold: the expected size, else the announced one, else the ceiling."""
        for size in (self.expected.size, body.total):
            if size is not None:
                return size
        return self.options.max_unknown_size

    def overrun(self, body: Body, got: int) -> ChecksumError:
        """Why a body that sent more than ``limit`` bytes is stopped (the part is then deleted)."""
        url, where = self.remote.url, manual_route(self.remote.url, self.dest)
        if self.expected.size is not None or body.total is not None:
            said = "were expected" if self.expected.size is not None else "its Content-Length announced"
            return ChecksumError(
                f"{url} sent more than the {self.limit(body):,} bytes that {said} (stopped at {got:,}); the "
                f"server may be serving a different version (fix the catalog's size), or {where}"
            )
        return ChecksumError(
            f"{url} sent more than {human_bytes(self.options.max_unknown_size)} without announcing a size, and the "
            f"catalog gives none; stopped and deleted the partial file. If the file really is that large, add its "
            f"size (and md5 or sha256) to the catalog; otherwise {where}"
        )

    def check_space(self, total: int, done: int) -> None:
        """Refuse to start a transfer the downloads folder's filesystem has no room for."""
        need, free = total - done, free_bytes(self.dest.parent)
        if need > free:
            raise DiskSpaceError(
                f"{self.dest} needs {human_bytes(need)} more ({need:,} bytes) but its filesystem has only "
                f"{human_bytes(free)} free; free some space, or pass --downloads with a folder on a bigger disk, "
                "then rerun (a partial download resumes)"
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
