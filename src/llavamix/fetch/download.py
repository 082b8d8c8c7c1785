"""The resumable download loop shared by every scheme: retries with backoff, resume, progress, verification, and
the bounds on a transfer (no more bytes than expected, free space for the rest, a minimum pace). A file whose
server serves ranges is spread over several connections (``spread``); anything odd about its ranges brings it
back to one connection, a file that changes meanwhile starts over."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from llavamix.fetch import segments
from llavamix.fetch.limiter import HostLimiter, Slot
from llavamix.fetch.options import FetchOptions
from llavamix.fetch.part import PartFile, SpreadPart, validator_path
from llavamix.fetch.remote import Body, Expected, RangeRejected, Refused, Remote, SpanRemote, Transient
from llavamix.fetch.segments import SegmentMap
from llavamix.fetch.spread import Narrow, Restart, Spread, Spreading, piece_size
from llavamix.fetch.stall import StallWatch
from llavamix.foundation.errors import ChecksumError, DiskSpaceError, FetchError
from llavamix.foundation.io import free_bytes, human_bytes, part_path
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
        self.algo = expected.checksum[0] if expected.checksum else None
        self.spans = remote if isinstance(remote, SpanRemote) and remote.spans else None
        self.single = options.connections < 2 or self.spans is None  # one connection, whatever the server allows
        self.restarts = 0
        self.part: PartFile | SpreadPart  # set by land()
        self.progress_on = False
        self.shown = 0  # bytes the progress bar has been told about

    def land(self) -> Landed:
        problem = ""
        for round_ in (1, 2):
            self.part = self.open_part()
            resumed = self.part.resumed
            try:
                self.fill()
                self.part.close()  # a spread part finishes the digest of its start here (Ctrl-C may stop it)
            except ChecksumError:  # the bytes belong to another version (or overran it): no use to a resume
                self.part.discard()
                raise
            except BaseException:
                self.part.abandon()
                raise
            part = self.part
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

    def open_part(self) -> PartFile | SpreadPart:
        """The part as the last run left it: spread (a segment map beside it) or one contiguous start."""
        smap = self.saved_map()
        if smap is None:
            return PartFile(self.dest, self.algo)
        part = SpreadPart(self.dest, self.algo, smap)
        return part if self.spans is not None else PartFile(self.dest, self.algo, part.narrow())

    def saved_map(self) -> SegmentMap | None:
        """The segment map a spread run left, if it still describes the part; else the part is started over (a
        part beside a map may have holes: never to be taken for a contiguous start)."""
        path = part_path(self.dest)
        try:
            smap = segments.load(self.dest, path.stat().st_size if path.is_file() else 0)
        except segments.Unusable as exc:
            log.warning("%s; the partial download starts over", exc)
            smap = None
            path.unlink(missing_ok=True)
        if smap is not None and not path.is_file():
            smap = None  # a map left by a run killed after it renamed the part
        elif smap is not None and self.expected.size not in (None, smap.total):
            log.warning("%s: the partial download is of another size (%d bytes); starting over", self.dest, smap.total)
            smap = None
            path.unlink(missing_ok=True)
        if smap is None:
            segments.remove(self.dest)
        return smap

    def digest(self, part: PartFile | SpreadPart) -> str | None:
        return f"{part.algo}:{part.hexdigest()}" if part.algo else None

    def mismatch(self, part: PartFile | SpreadPart) -> str:
        size, checksum = self.expected.size, self.expected.checksum
        if size is not None and part.size != size:
            return f"{part.size} bytes where {size} were expected"
        if checksum is not None and part.hexdigest() != checksum[1]:
            return f"{checksum[0]} {part.hexdigest()} where {checksum[1]} was expected"
        return ""

    def fill(self) -> None:
        """Bring the part to the whole file: spread over connections where the server allows, else on one."""
        while True:
            part = self.part
            try:
                if isinstance(part, SpreadPart):
                    self.spread(part)
                else:
                    self.fill_one(part)
                return
            except Narrow as exc:
                log.info("%s: %s; going on over one connection", self.remote.url, exc)
                self.single = True
                kept = self.part.narrow() if isinstance(self.part, SpreadPart) else None
                self.part = PartFile(self.dest, self.algo, kept)
            except Restart as exc:
                self.restarts += 1
                self.single = self.single or self.restarts > 1  # a server whose validator never holds still
                log.warning("%s; downloading it again from zero", exc)
                self.part.discard()
                self.part = PartFile(self.dest, self.algo)

    def fill_one(self, part: PartFile) -> None:
        """Append to ``part`` until the remote has no more bytes, retrying transient failures; the first answer
        may turn the download into a spread one."""
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
                with self.slot() as slot, self.first_request(part) as body:
                    if self.spreadable(body, part):
                        return self.spread_from(part, body, slot)
                    if self.receive(body, part):
                        return None
            except RangeRejected:
                log.info("%s: cannot resume at byte %d; starting over", self.remote.url, part.size)
                part.reset()
                failures += 1
            except Refused as exc:
                raise FetchError(f"{exc}; {manual_route(self.remote.url, self.dest)}") from None
            except Transient as exc:
                failures = 1 if part.size > before else failures + 1  # progress earns a fresh set of retries
                self.pause(exc, failures)

    @contextlib.contextmanager
    def slot(self) -> Iterator[Slot | None]:
        """One of the host's connections (and of the run's), waited for until a stop is asked for."""
        host, total = self.remote.host, self.options.max_connections
        with self.limiter.slot(host, total=total, until=lambda: CANCEL.cancelled) as held:
            CANCEL.check()  # it stopped waiting for a connection because a stop was asked for
            yield held

    def first_request(self, part: PartFile) -> contextlib.AbstractContextManager[Body]:
        """Today's request, or, when the file may be spread, a range of its first piece (no answer then runs on
        past what this connection is meant to fetch)."""
        size = self.expected.size
        if self.spans is None or self.single or size is None or size - part.size < 2 * self.options.split.min_segment:
            return self.remote.open(part.size, part.validator)
        return self.spans.open_span(part.size, part.size + piece_size(size, self.options), part.validator)

    def spreadable(self, body: Body, part: PartFile) -> bool:
        """The answer shows a server that serves ranges of a file of known size, large enough to split, whose
        version can be checked on every connection (a validator, or at least the final checksum)."""
        if self.single or not body.ranged or body.total is None or body.start != part.size:
            return False
        return body.total - body.start >= 2 * self.options.split.min_segment and bool(
            body.validator or self.expected.checksum
        )

    def spread_from(self, part: PartFile, body: Body, slot: Slot | None) -> None:
        """Go on over several connections; ``body`` (holding ``slot``) continues as the first one's."""
        self.check_total(body)
        total = body.total if body.total is not None else 0
        self.check_space(total, part.size)
        spread = SpreadPart(self.dest, self.algo, SegmentMap.fresh(total, body.validator, part.size), part.detach())
        spread.save()  # before any byte lands past the contiguous start, which is all a part without a map may hold
        validator_path(self.dest).unlink(missing_ok=True)  # the map holds it now
        self.part = spread
        self.spread(spread, body, slot)

    def spread(self, part: SpreadPart, first: Body | None = None, slot: Slot | None = None) -> None:
        if self.spans is None:
            raise Narrow("this remote cannot be read by ranges")
        self.check_space(part.map.total, part.map.written)
        self.start_progress(part.map.total, part.map.written)
        how = Spreading(self.spans, self.options, self.limiter, self.pause, self.advance, self.connections)
        try:
            Spread(part, how).run(first, slot)
        except Refused as exc:
            raise FetchError(f"{exc}; {manual_route(self.remote.url, self.dest)}") from None
        except Transient as exc:
            raise FetchError(f"{self.remote.url}: {exc}; rerun to resume where it stopped") from None

    def advance(self, n: int) -> None:
        self.options.progress.advance(self.key, n)
        self.shown += n

    def connections(self, n: int) -> None:
        self.options.progress.detail(self.key, f"{n} conn")

    def pause(self, exc: Transient, failures: int) -> None:
        if failures > self.options.retries:
            raise FetchError(
                f"{self.remote.url}: {exc} (gave up after {failures} attempts); rerun to resume "
                f"where it stopped, or {manual_route(self.remote.url, self.dest)}"
            )
        wait = self.policy.delay(failures) if exc.retry_after is None else min(exc.retry_after, MAX_RETRY_AFTER)
        log.info("%s: %s; retry %d/%d in %.1fs", self.remote.url, exc, failures, self.options.retries, wait)
        CANCEL.sleep(wait)  # Ctrl-C cuts a backoff short

    def receive(self, body: Body, part: PartFile) -> bool:
        """Append the answer to ``part``; True once the file is complete."""
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
        stop = body.end if body.end is not None else body.total
        if stop is not None and part.size < stop:
            raise Transient(f"connection closed after {human_bytes(part.size)} of {human_bytes(stop)}")
        return body.total is None or part.size >= body.total  # a range that ended before the file's end: go on

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
