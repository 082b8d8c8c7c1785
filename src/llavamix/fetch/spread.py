"""A download spread over several connections at once (as aria2 does): each connection fills its own segment of
the part file, pieces are handed out in file order, and an idle connection splits the biggest segment left or
takes over one whose connection went silent, so the tail of a file never waits on one slow connection.

Every answer must be the very bytes asked for, of the version the part holds: a range answered with the whole
file or from another offset ends the spread (``Narrow``: go on with one connection), another size or validator
means the file changed (``Restart``). Connections are taken from the run's HostLimiter, one at a time.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from llavamix.fetch.limiter import HostLimiter, Slot
from llavamix.fetch.options import FetchOptions
from llavamix.fetch.part import SpreadPart
from llavamix.fetch.remote import Body, Changed, RangeRejected, SpanRemote, Transient
from llavamix.fetch.segments import Segment
from llavamix.fetch.stall import StallWatch
from llavamix.foundation.io import human_bytes
from llavamix.foundation.tasks import CANCEL

log = logging.getLogger(__name__)

SAVE_EVERY = 0.025  # seconds between saves of the map: the most a kill -9 can cost each connection
IDLE_CHECK = 1.0  # seconds between an idle connection's looks for a silent segment to take over
PROBE = 0.005  # seconds the first connection works alone: the others join only if it brings too little


class Narrow(Exception):
    """The server answered a range wrongly (with the whole file, from another offset): go on over one connection
    from the contiguous start, which a single connection resumes as it always did."""


class Restart(Exception):
    """The file changed on the server while its segments came in: every byte must come again."""


@dataclass(frozen=True)
class Spreading:
    """What a spread download is given besides its part."""

    remote: SpanRemote
    options: FetchOptions
    limiter: HostLimiter
    pause: Callable[[Transient, int], None]  # waits before the n-th retry; raises once retries are used up
    on_bytes: Callable[[int], None]  # bytes written (for the progress bar)
    on_connections: Callable[[int], None] = lambda n: None  # connections with an answer coming in, when it changes


def piece_size(total: int, options: FetchOptions) -> int:
    """The most a connection is handed at once: a quarter of a fair share per connection, within the split's
    bounds (enough pieces that the tail is short, few enough that each request moves a good amount)."""
    split = options.split
    return max(split.min_segment, min(split.max_piece, total // max(1, 4 * options.connections)))


class Spread:
    """One file's segmented download: ``run`` fills every segment of ``part`` or raises."""

    def __init__(self, part: SpreadPart, how: Spreading) -> None:
        self.part, self.map, self.how = part, part.map, how
        self.split = how.options.split
        self.piece = piece_size(self.map.total, how.options)
        self.cond = threading.Condition()
        self.over = threading.Event()  # every byte is there, or the download is stopping
        self.failure: BaseException | None = None
        self.hang_ups: dict[int, Callable[[], None]] = {}  # connection -> how to cut its answer in flight
        self.receiving = 0  # connections with an answer coming in
        self.connections = 1  # how many this download runs
        self.changed = False  # bytes landed since the map was last saved
        self.received = 0  # bytes landed in this run
        self.began = time.monotonic()
        self.wait = 0.0  # seconds a request waits for its answer (connecting included), averaged over this run

    def run(self, first: Body | None = None, slot: Slot | None = None) -> None:
        """Fill the part; ``first`` is an answer already coming in for the part's first missing bytes, on a
        connection that holds ``slot``. Raises Narrow, Restart, or what stopped the download (the map is saved)."""
        if self.map.complete:
            return
        threads = [*self.workers(first, slot), threading.Thread(target=self.keep_saving, name="llavamix-map")]
        try:
            with CANCEL.on_cancel(self.halt):
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
        finally:
            with self.cond:
                self.part.save()
        CANCEL.check()
        self.raise_failure()

    def workers(self, first: Body | None, slot: Slot | None) -> list[threading.Thread]:
        remote = self.how.remote
        left = self.map.total - self.map.written
        n = max(1, min(self.how.options.connections, self.how.limiter.cap(remote.host), -(-left // self.piece)))
        self.connections = n
        start = self.first_segment(first) if first is not None else None
        remotes = [remote, *(remote.fork() for _ in range(n - 1))]
        return [
            threading.Thread(
                target=self.work,
                args=(i, remotes[i], start if i == 0 else None, slot if i == 0 else None),
                name=f"llavamix-segment-{i}",
                daemon=True,
            )
            for i in range(n)
        ]

    def first_segment(self, first: Body) -> tuple[Segment, Body] | None:
        """The first connection's segment: the bytes its answer carries (a range), or a piece of them."""
        with self.cond:
            size = first.end - first.start if first.end is not None and first.end < self.map.total else self.piece
            seg = self.map.claim(0, size, time.monotonic())
            if seg is not None and seg.pos != first.start:  # not the bytes it carries: leave it unread
                self.map.release(seg)
                seg = None
        return None if seg is None else (seg, first)

    def raise_failure(self) -> None:
        failure = self.failure
        if isinstance(failure, Changed):
            raise Restart(str(failure)) from None
        if isinstance(failure, RangeRejected):
            raise Narrow(str(failure)) from None
        if failure is not None:
            raise failure
        if not self.map.complete:  # every connection gave up its place without an error: rerun resumes
            raise Transient("the segments' connections all closed before the file was complete")

    # ---- one connection
    def work(self, me: int, remote: SpanRemote, start: tuple[Segment, Body] | None, slot: Slot | None) -> None:
        try:
            self.serve(me, remote, start, slot)
        except BaseException as exc:  # noqa: BLE001 - kept and raised by run() in the download's own thread
            self.stop(exc)

    def serve(self, me: int, remote: SpanRemote, start: tuple[Segment, Body] | None, slot: Slot | None) -> None:
        """Take segments and fill them while there are any; a connection holds its slot only while it works."""
        failures = 0
        seg, body = start if start is not None else (None, None)
        if me and not self.join():
            return
        try:
            while not self.over.is_set():
                slot = slot or self.how.limiter.acquire(
                    remote.host, total=self.how.options.max_connections, until=self.over.is_set
                )
                seg = seg or (self.take(me) if slot is not None else None)
                if slot is None or seg is None:
                    self.rest(slot, remote)
                    slot = None
                    if not self.idle():
                        return
                    continue
                before = seg.pos
                failed = self.attempt(me, remote, seg, body)
                failures = self.count(failed, seg, before, failures)
                seg = body = None
                if failures < 0:  # refused while others get through: this connection is one too many
                    return
                if failed is not None and failures:
                    self.rest(slot, remote)
                    slot = None
                    self.how.pause(failed, failures)
        finally:
            self.rest(slot, remote)

    def rest(self, slot: Slot | None, remote: SpanRemote) -> None:
        """Give the connection back: an idle one is not kept open against the server's limit."""
        if slot is not None:
            slot.release()
        remote.close()

    def attempt(self, me: int, remote: SpanRemote, seg: Segment, body: Body | None) -> Transient | None:
        """Fill ``seg`` (from ``body`` if given); the segment is free for anyone afterwards, filled or not."""
        try:
            self.fill(me, remote, seg, body)
            return None
        except Transient as exc:
            return exc
        finally:
            self.give_back(seg)

    def count(self, failed: Transient | None, seg: Segment, before: int, failures: int) -> int:
        """Failures in a row after an attempt: none after success, one after progress, -1 to retire."""
        if failed is None or not seg.left:  # done, or taken over while silent: its bytes come on another connection
            return 0
        log.info("%s: %s (bytes %d-%d)", self.how.remote.url, failed, seg.pos, seg.end)
        if seg.pos > before:
            return 1
        return -1 if self.others_receiving() else failures + 1

    def fill(self, me: int, remote: SpanRemote, seg: Segment, body: Body | None) -> None:
        if body is not None:
            self.receive(me, seg, body)
            return
        with self.cond:
            first, end = seg.pos, seg.end
        if first >= end:
            return
        asked = time.monotonic()
        with remote.open_span(first, end, self.map.validator) as answer:
            self.waited(time.monotonic() - asked)
            self.check(answer, first)
            self.receive(me, seg, answer)

    def check(self, body: Body, first: int) -> None:
        """The answer is the part's version (Changed if not) and the bytes asked for (RangeRejected if not)."""
        known = self.map.validator
        if (known is not None and body.validator != known) or (body.total is not None and body.total != self.map.total):
            raise Changed(
                f"{self.how.remote.url} changed during the download: it is now {body.total} bytes with validator "
                f"{body.validator}, where the part holds {self.map.total} bytes of {known}"
            )
        if body.start != first or body.total is None:
            raise RangeRejected(f"asked for bytes from {first}, the server answered with bytes from {body.start}")

    def receive(self, me: int, seg: Segment, body: Body) -> None:
        """Write the answer's bytes into ``seg`` until it is full (cutting the rest of the answer off)."""
        limit = body.end if body.end is not None else self.map.total
        watch = StallWatch(self.how.options.pace)
        with self.cond:
            self.hang_ups[me] = body.hang_up
            self.receiving += 1
            self.how.on_connections(self.receiving)
        try:
            for chunk in body.chunks:
                CANCEL.check()
                if not self.put(seg, chunk, limit):
                    body.hang_up()  # the rest is another segment's, or the download is over
                    return
                watch.feed(len(chunk))
        finally:
            with self.cond:
                self.hang_ups.pop(me, None)
                self.receiving -= 1
                self.how.on_connections(self.receiving)
        if seg.left and not self.over.is_set():
            raise Transient(f"the answer ended {human_bytes(seg.left)} before the end of its segment")

    def put(self, seg: Segment, chunk: bytes, limit: int) -> bool:
        """Write ``chunk`` at the segment's position; False when the segment ends before the chunk does."""
        view = memoryview(chunk)
        while view:
            with self.cond:
                if self.over.is_set():
                    return False
                if not seg.left and not self.map.extend(seg, self.piece, limit):
                    return False
                at, n = seg.pos, min(len(view), seg.left)
                seg.pending = n
            self.part.write_at(at, view[:n])
            self.record(seg, n)
            view = view[n:]
        return True

    def record(self, seg: Segment, n: int) -> None:
        with self.cond:
            seg.done, seg.pending, seg.heard = seg.done + n, 0, time.monotonic()
            self.how.on_bytes(n)
            self.received += n
            self.changed = True
            frontier = self.map.frontier
            if frontier == self.map.total:
                self.over.set()
                self.cond.notify_all()
        self.part.reached(frontier)
        if frontier == self.map.total:
            self.how.limiter.wake()

    def keep_saving(self) -> None:
        """Save the map every SAVE_EVERY seconds while bytes land: it never counts a byte not yet written, and a
        kill -9 loses at most that much of each connection's progress."""
        try:
            with self.cond:
                while not self.over.is_set():
                    self.cond.wait(SAVE_EVERY)
                    if self.changed:
                        self.part.save()
                        self.changed = False
        except OSError as exc:  # a full disk, say: the download stops, as it would writing its bytes
            self.stop(exc)

    # ---- handing out work
    def take(self, me: int) -> Segment | None:
        """The next piece, else a share of another connection's segment (all of it when that one is silent)."""
        now = time.monotonic()
        with self.cond:
            seg = self.map.claim(me, self.next_piece(), now)
            if seg is not None:
                return seg
            stolen = self.map.steal(me, self.split_floor(now), now - self.split.takeover, now)
            if stolen is None:
                return None
            taken, victim = stolen
            silent = not victim.left
            hang_up = self.hang_ups.get(victim.owner) if silent and victim.owner is not None else None
        log.debug(
            "%s: connection %d takes bytes %d-%d%s",
            self.how.remote.url,
            me,
            taken.start,
            taken.end,
            " from a silent connection" if silent else "",
        )
        if hang_up is not None:
            hang_up()  # it would otherwise wait for its read timeout
        return taken

    def waited(self, seconds: float) -> None:
        with self.cond:
            self.wait = seconds if not self.wait else (self.wait + seconds) / 2

    def split_floor(self, now: float) -> int:
        """The least a segment must have left to be split: each half at least the split's ``min_segment``, and the
        half taken more than twice what a connection receives while the taker's request waits for its answer (so
        the two halves end sooner than the whole would). Called holding ``cond``."""
        per_connection = self.received / max(now - self.began, 1e-3) / max(self.connections, 1)
        return max(2 * self.split.min_segment, int(4 * per_connection * self.wait))

    def next_piece(self) -> int:
        """A piece, smaller towards the end: the connections then finish together, and the digest of the file's
        start is nearly complete when the last byte lands."""
        share = self.map.unowned // (2 * self.connections)
        return max(self.split.min_segment, min(self.piece, share))

    def give_back(self, seg: Segment) -> None:
        with self.cond:
            self.map.release(seg)
            self.cond.notify_all()

    def idle(self) -> bool:
        """Wait until there is work to take (True) or the download is over (False)."""
        with self.cond:
            while not self.over.is_set():
                now = time.monotonic()
                if self.map.workable(self.split_floor(now), now - self.split.takeover):
                    return True
                self.cond.wait(min(IDLE_CHECK, self.split.takeover / 2))
        return False

    def join(self) -> bool:
        """Wait until another connection would help (True) or the download is over (False)."""
        with self.cond:
            while not self.over.is_set():
                elapsed = time.monotonic() - self.began
                if elapsed >= PROBE and self.received / elapsed < self.split.enough:
                    return True
                self.cond.wait(PROBE if elapsed < PROBE else IDLE_CHECK)
        return False

    def others_receiving(self) -> bool:
        with self.cond:
            return self.receiving > 0

    # ---- stopping
    def stop(self, exc: BaseException) -> None:
        with self.cond:
            if self.failure is None:
                self.failure = exc
        self.halt()

    def halt(self) -> None:
        """Stop every connection now: waiters wake, answers in flight are cut."""
        with self.cond:
            self.over.set()
            self.cond.notify_all()
            hang_ups = list(self.hang_ups.values())
        for hang_up in hang_ups:
            hang_up()
        self.how.limiter.wake()
