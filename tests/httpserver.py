"""A loopback HTTP server for tests and benchmarks: files from a dict or a folder, Range, ETag, redirects, faults.

Bind is 127.0.0.1 only. Every request is recorded (method, path, headers, status, the body bytes sent in its
answer), with the body bytes served per path, the most requests in flight at once and the most connections open at
once, so tests can assert "resumed with Range", "nothing downloaded again" or "never more than two at once".
``rate`` throttles every connection to that many bytes a second, as the real servers do (so several connections
get more than one).
Faults cover what real servers do wrong (drops, trickles, wrong or extra bytes, endless or gzip-encoded bodies) and
hold a body midway until the test lets it go; ``change`` publishes a new version of a file, and ``gather`` holds
answers until requests overlap, so a test of parallelism does not depend on timing.
Run ``python tests/httpserver.py --root DIR`` to serve a folder (prints its URL; used by the benchmarks).
"""

from __future__ import annotations

import argparse
import contextlib
import email.utils
import functools
import gzip
import hashlib
import os
import re
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

LAST_MODIFIED = "Wed, 01 Jan 2025 00:00:00 GMT"
RANGE = re.compile(r"bytes=(\d*)-(\d*)")
TAIL = 64 * 1024  # bytes of a zero-copy answer sent after it stops counting as in flight
INVERT = bytes(255 - i for i in range(256))  # flips every bit: same length, wrong bytes
HOLD_LIMIT = 300.0  # seconds a held answer waits for ``Fault.resume`` at most, should a test forget to set it
PACE_STEP = 16 * 1024  # bytes a throttled connection sends at a time, at least (a hundredth of its rate at most)


@dataclass
class Fault:
    """What goes wrong with one GET of a path (faults are used up in order, one per GET, unless ``repeat``)."""

    status: int | None = None  # answer this status with an empty body instead of the file
    retry_after: str | None = None  # Retry-After header sent with ``status``
    drop_after: int | None = None  # close the connection after this many body bytes
    trickle: float = 0.0  # seconds of sleep before each ``trickle_chunk`` bytes
    trickle_chunk: int = 1024
    corrupt: bool = False  # serve wrong bytes (same length)
    ignore_range: bool = False  # answer 200 with the whole file even to a Range request
    extra: int = 0  # bytes sent after the file's end, without a Content-Length (huge = an endless body)
    length: int | None = None  # the Content-Length announced instead of the true one (the body is the file)
    encoding: str | None = None  # "gzip": answer 200 with the whole file gzip-compressed, Content-Encoding says so
    no_length: bool = False  # send no Content-Length: the body (the file) ends when the connection closes
    range_from: int | None = None  # answer a Range request with 206 from this byte instead (Content-Range says so)
    hold_after: int | None = None  # stop sending once this many body bytes are out, until ``resume`` is set
    resume: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)
    repeat: bool = False  # applies to every GET, never used up


@dataclass
class Seen:
    method: str
    path: str
    headers: Message  # case-insensitive, like HTTP header names
    status: int = 0
    sent: int = 0  # body bytes written into the socket for this request (not all of them read, if the client died)
    ended: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)  # answer finished


@dataclass
class Entry:
    data: bytes | None = None
    file: Path | None = None
    etag: str | None = None
    modified: str = LAST_MODIFIED  # the Last-Modified header, also accepted as If-Range
    headers: dict[str, str] = field(default_factory=dict)
    redirect: str | None = None
    status: int = 302

    @property
    def size(self) -> int:
        if self.data is not None:
            return len(self.data)
        return self.file.stat().st_size if self.file is not None else 0


class LoopbackServer:
    """Start with ``with LoopbackServer() as srv:``; ``srv.url('/a.zip')`` is where ``srv.add('/a.zip', b'...')`` is."""

    def __init__(self, files: Mapping[str, bytes] | None = None, root: Path | None = None) -> None:
        self.root = root
        self.entries: dict[str, Entry] = {}
        self.faults: dict[str, list[Fault]] = {}
        self.head_refusals: dict[str, int] = {}  # path -> the status every HEAD of it gets
        self.requests: list[Seen] = []
        self.bytes_served: Counter[str] = Counter()
        self.max_active: Counter[str] = Counter()  # per path
        self.max_active_all = 0
        self.connections = 0  # TCP connections open now (idle kept-alive ones too)
        self.max_connections = 0
        self.latency = 0.0  # seconds every answer waits before it starts, as a distant server would
        self.rate: float | None = None  # bytes a second each connection may send (None: as fast as it can)
        self.flowing = threading.Event()  # cleared by ``pause``: every answer waits between its chunks
        self.flowing.set()
        self.meet: tuple[int, float] | None = None  # see ``gather``
        self._active: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)  # notified whenever the requests in flight change
        for path, data in (files or {}).items():
            self.add(path, data)
        self.httpd = _QuietServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.owner = self  # type: ignore[attr-defined]
        self._thread: threading.Thread | None = None

    # ---- set-up
    def add(self, path: str, data: bytes, *, etag: str | None = None, headers: Mapping[str, str] | None = None) -> str:
        tag = etag if etag is not None else '"' + hashlib.md5(data).hexdigest() + '"'
        self.entries[path] = Entry(data=data, etag=tag or None, headers=dict(headers or {}))
        return self.url(path)

    def change(self, path: str, data: bytes) -> None:
        """Publish other bytes at ``path``, as a new version: a new ETag (if it had one), a later Last-Modified."""
        old = self.entries[path]
        etag = '"' + hashlib.md5(data).hexdigest() + '"' if old.etag else None
        later = email.utils.parsedate_to_datetime(old.modified) + timedelta(days=1)
        self.entries[path] = replace(old, data=data, etag=etag, modified=email.utils.format_datetime(later, True))

    def gather(self, n: int, timeout: float) -> None:
        """Hold the body of every answer until ``n`` requests are in flight at once (or ``timeout`` seconds pass):
        a client that may run ``n`` in parallel is then seen doing so (``max_active_all``), however loaded the
        machine is. Headers go out first, since a segmented download asks for more only once it has seen them."""
        self.meet = (n, timeout)

    def redirect(self, path: str, location: str, *, headers: Mapping[str, str] | None = None, status: int = 302) -> str:
        self.entries[path] = Entry(redirect=location, headers=dict(headers or {}), status=status)
        return self.url(path)

    def pause(self) -> None:
        """Hold every answer before its next chunk (headers and the bytes already out stay) until ``go_on``: a
        client then has everything the server counts as sent, whatever the machine's load."""
        self.flowing.clear()

    def go_on(self) -> None:
        self.flowing.set()

    def fault(self, path: str, *faults: Fault) -> None:
        self.faults.setdefault(path, []).extend(faults)

    def refuse_head(self, path: str, status: int = 405) -> None:
        """Answer every HEAD request of ``path`` with ``status`` (GETs are served as usual)."""
        self.head_refusals[path] = status

    # ---- lifecycle
    @property
    def base(self) -> str:
        port = self.httpd.server_address[1]
        return f"http://127.0.0.1:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def start(self) -> LoopbackServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- what happened
    def gets(self, path: str) -> list[Seen]:
        return [r for r in self.requests if r.method == "GET" and r.path == path]

    def ranges(self, path: str) -> list[str | None]:
        return [r.headers.get("Range") for r in self.gets(path)]

    # ---- used by the handler
    def lookup(self, path: str) -> Entry | None:
        if path in self.entries:
            return self.entries[path]
        if self.root is not None:
            file = (self.root / path.lstrip("/")).resolve()
            if file.is_file() and self.root.resolve() in file.parents:
                st = file.stat()
                return Entry(file=file, etag=f'"{st.st_size:x}-{st.st_mtime_ns:x}"')
        return None

    def next_fault(self, path: str) -> Fault:
        with self._lock:
            queue = self.faults.get(path, [])
            if not queue:
                return Fault()
            return queue[0] if queue[0].repeat else queue.pop(0)

    def record(self, seen: Seen) -> None:
        with self._lock:
            self.requests.append(seen)

    def served(self, seen: Seen, n: int) -> None:
        with self._lock:
            self.bytes_served[seen.path] += n
            seen.sent += n

    def sent_to(self, answers: list[Seen], timeout: float = 60) -> int:
        """The body bytes sent in ``answers``, once each of them has ended: a client may hold its last byte before
        the thread that wrote it has counted it. Unlike ``bytes_served`` this leaves out what other requests got,
        such as the chunk a stopped client's answer still writes into its socket after the client is gone."""
        for seen in answers:
            if not seen.ended.wait(timeout):
                raise AssertionError(f"the answer to {seen.method} {seen.path} did not end within {timeout}s")
        return sum(seen.sent for seen in answers)

    def active(self, path: str, delta: int) -> None:
        with self._changed:
            self._active[path] += delta
            self.max_active[path] = max(self.max_active[path], self._active[path])
            self.max_active_all = max(self.max_active_all, sum(self._active.values()))
            self._changed.notify_all()

    def connected(self, delta: int) -> None:
        with self._lock:
            self.connections += delta
            self.max_connections = max(self.max_connections, self.connections)

    def wait_for_company(self) -> None:
        """Block until ``gather``'s count of requests is in flight (or its timeout passed); once they met, nobody
        waits any more (the last answers of a download have nobody left to meet)."""
        if self.meet is None:
            return
        n, timeout = self.meet
        with self._changed:
            if self._changed.wait_for(lambda: sum(self._active.values()) >= n, timeout):
                self.meet = None


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # clients hanging up is part of the tests
            super().handle_error(request, client_address)  # type: ignore[arg-type]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body leave in separate writes; with Nagle on, a kept-alive connection stalls the body until the
    # client's delayed ACK (40 ms), which real servers avoid
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass

    def setup(self) -> None:
        super().setup()
        self.next_send = 0.0  # when this connection may send its next bytes, under the server's rate
        self.owner.connected(+1)

    def finish(self) -> None:
        self.owner.connected(-1)  # before the socket closes: a client that sees it closed sees it counted out
        super().finish()

    def pace(self, n: int) -> None:
        """Wait until ``n`` more bytes fit this connection's rate (no credit for time spent idle)."""
        rate = self.owner.rate
        if not rate:
            return
        now = time.monotonic()
        start = max(self.next_send, now)
        if start > now:
            time.sleep(start - now)
        self.next_send = start + n / rate

    def step(self) -> int:
        rate = self.owner.rate
        return max(PACE_STEP, int(rate / 100)) if rate else 1 << 20

    @property
    def owner(self) -> LoopbackServer:
        return self.server.owner  # type: ignore[attr-defined]

    def do_HEAD(self) -> None:
        self.answer(head=True)

    def do_GET(self) -> None:
        self.answer(head=False)

    def answer(self, head: bool) -> None:
        path = unquote(urlsplit(self.path).path)
        seen = Seen(self.command, path, self.headers)
        self.owner.record(seen)
        self.owner.active(path, +1)
        self.in_flight = True
        try:
            self.respond(path, seen, head)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            self.leave(path)
            seen.ended.set()

    def leave(self, path: str) -> None:
        """No longer in flight: called before the last bytes of an answer go out, since a client that has them
        may start its next request before this thread returns (which would count as two at once)."""
        if self.in_flight:
            self.in_flight = False
            self.owner.active(path, -1)

    def respond(self, path: str, seen: Seen, head: bool) -> None:
        if self.owner.latency:
            time.sleep(self.owner.latency)
        entry = self.owner.lookup(path)
        refused = self.owner.head_refusals.get(path) if head else None
        fault = Fault(status=refused) if head else self.owner.next_fault(path)
        if fault.status is not None:
            extra = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            return self.empty(seen, fault.status, extra)
        if entry is None:
            return self.empty(seen, 404, {})
        if entry.redirect is not None:
            return self.empty(seen, entry.status, {"Location": entry.redirect, **entry.headers})
        if fault.encoding is not None:
            return self.encoded(path, seen, entry, fault.encoding)
        first, last, status = self.span(entry, fault)
        if status == 416:
            return self.empty(seen, 416, {"Content-Range": f"bytes */{entry.size}"})
        seen.status = status
        self.send_response(status)
        self.file_headers(entry, first, last, status, fault)
        if not head:
            self.body(seen, entry, first, last, fault)

    def span(self, entry: Entry, fault: Fault) -> tuple[int, int, int]:
        """The byte range to send (inclusive) and the status: 200, 206 or 416."""
        size, wanted = entry.size, self.headers.get("Range")
        if_range = self.headers.get("If-Range")
        if not wanted or fault.ignore_range or (if_range and if_range not in (entry.etag, entry.modified)):
            return 0, size - 1, 200
        m = RANGE.fullmatch(wanted.strip())
        if m is None or (not m.group(1) and not m.group(2)):
            return 0, size - 1, 200
        if not m.group(1):  # suffix range: the last N bytes
            return max(0, size - int(m.group(2))), size - 1, 206
        first = int(m.group(1)) if fault.range_from is None else fault.range_from
        last = min(size - 1, int(m.group(2))) if m.group(2) else size - 1
        return (first, last, 206) if first < size and first <= last else (0, 0, 416)

    def file_headers(self, entry: Entry, first: int, last: int, status: int, fault: Fault) -> None:
        if fault.extra or fault.no_length:  # no length: the body ends when the connection closes
            self.send_header("Connection", "close")
            self.close_connection = True
        else:
            self.send_header("Content-Length", str(last - first + 1 if fault.length is None else fault.length))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Last-Modified", entry.modified)
        if entry.etag:
            self.send_header("ETag", entry.etag)
        if status == 206:
            self.send_header("Content-Range", f"bytes {first}-{last}/{entry.size}")
        for k, v in entry.headers.items():
            self.send_header(k, v)
        self.end_headers()

    def encoded(self, path: str, seen: Seen, entry: Entry, encoding: str) -> None:
        """The whole file, compressed, as a server that ignores ``Accept-Encoding: identity``."""
        data = gzip.compress(b"".join(_slices(entry, 0, entry.size, 1 << 20)))
        seen.status = 200
        self.send_response(200)
        for k, v in {"Content-Length": str(len(data)), "Content-Encoding": encoding, "ETag": entry.etag}.items():
            if v:
                self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        self.owner.served(seen, len(data))

    def empty(self, seen: Seen, status: int, headers: Mapping[str, str]) -> None:
        seen.status = status
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def body(self, seen: Seen, entry: Entry, first: int, last: int, fault: Fault) -> None:
        self.owner.wait_for_company()
        count = last - first + 1
        if fault.drop_after is not None:
            count = min(count, fault.drop_after)
        last_out = count == last - first + 1 and not fault.extra  # the answer ends with these bytes
        leave = functools.partial(self.leave, seen.path) if last_out else _nothing
        if entry.file is not None and not (fault.trickle or fault.corrupt or fault.hold_after is not None):
            sent = self.send_file(seen, entry.file, first, count, leave)
        else:
            step = fault.trickle_chunk if fault.trickle else self.step()
            sent = self.write(seen, _before_last(_slices(entry, first, count, step), leave), fault)
        if fault.extra:
            self.write(seen, _filler(fault.extra), fault)
        if sent < last - first + 1 or fault.extra:  # cut short, or no length: hang up like a dropped connection
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)

    def write(self, seen: Seen, chunks: Iterator[bytes], fault: Fault) -> int:
        """Send ``chunks`` (slowly with a trickle fault), counting them as served as they leave."""
        sent = 0
        for chunk in chunks:
            if fault.hold_after is not None and sent >= fault.hold_after:
                fault.resume.wait(HOLD_LIMIT)
            if fault.trickle:
                time.sleep(fault.trickle)
            self.owner.flowing.wait(HOLD_LIMIT)
            self.pace(len(chunk))
            self.wfile.write(chunk.translate(INVERT) if fault.corrupt else chunk)
            self.owner.served(seen, len(chunk))
            sent += len(chunk)
        return sent

    def send_file(self, seen: Seen, file: Path, first: int, count: int, leave: Callable[[], None]) -> int:
        """Zero-copy, so the server costs little in benchmarks; step by step under a rate."""
        step = self.step() if self.owner.rate else max(count - TAIL, 0)
        sent = 0
        while True:
            n = min(step, count - sent) if count - sent > TAIL else count - sent
            if n == count - sent:
                leave()
            self.owner.flowing.wait(HOLD_LIMIT)
            self.pace(n)
            got = self.sendfile(file, first + sent, n)
            sent += got
            self.owner.served(seen, got)
            if got < n or sent >= count:
                return sent

    def sendfile(self, file: Path, first: int, count: int) -> int:
        sent = 0
        with open(file, "rb") as fh:
            while sent < count:
                n = os.sendfile(self.connection.fileno(), fh.fileno(), first + sent, count - sent)
                if n == 0:
                    break
                sent += n
        return sent


def _nothing() -> None:
    pass


def _before_last(chunks: Iterator[bytes], hook: Callable[[], None]) -> Iterator[bytes]:
    """``chunks`` as they are, calling ``hook`` just before the last one is handed over."""
    held = next(chunks, None)
    for chunk in chunks:
        yield held  # type: ignore[misc]
        held = chunk
    if held is not None:
        hook()
        yield held


def _filler(count: int) -> Iterator[bytes]:
    """``count`` bytes of junk, 64 KiB at a time (lazily: an endless body is never held in memory)."""
    block = bytes(range(256)) * 256
    for at in range(0, count, len(block)):
        yield block[: min(len(block), count - at)]


def _slices(entry: Entry, first: int, count: int, step: int) -> Iterator[bytes]:
    if entry.data is not None:
        view = memoryview(entry.data)
        for at in range(first, first + count, step):
            yield view[at : min(at + step, first + count)].tobytes()
        return
    with open(entry.file or os.devnull, "rb") as fh:
        fh.seek(first)
        left = count
        while left > 0 and (chunk := fh.read(min(step, left))):
            yield chunk
            left -= len(chunk)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--root", type=Path, required=True, help="folder to serve")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds each answer waits before it starts")
    parser.add_argument("--rate", type=float, default=None, help="bytes a second each connection may send")
    args = parser.parse_args()
    server = LoopbackServer(root=args.root)
    server.latency, server.rate = args.latency, args.rate
    print(server.base, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.httpd.serve_forever()
    sys.exit(0)


if __name__ == "__main__":
    main()
