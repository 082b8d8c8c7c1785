"""http(s):// files through requests: Range resume checked against Content-Range, If-Range, error triage."""

from __future__ import annotations

import contextlib
import copy
import email.utils
import functools
import re
import socket
import time
from collections.abc import Iterator, Mapping
from urllib.parse import urlparse

import requests
import urllib3

from llavamix import __version__
from llavamix.catalog import Source
from llavamix.fetch.options import FetchOptions
from llavamix.fetch.remote import Body, Expected, RangeRejected, Refused, Transient
from llavamix.foundation.io import CHUNK
from llavamix.foundation.tasks import CANCEL

CONTENT_RANGE = re.compile(r"bytes\s+(?:(\d+)-(\d+)|\*)/(\d+|\*)")


class HttpRemote:
    """A URL read with one requests Session (connection reuse across retries); ``fork`` gives another."""

    spans = True  # any byte range may be asked for on a connection of its own

    def __init__(
        self,
        url: str,
        options: FetchOptions,
        *,
        headers: Mapping[str, str] | None = None,
        expected: Expected | None = None,
    ) -> None:
        self.url = url
        self.host = urlparse(url).hostname or ""
        self.expected = expected or Expected()
        self.timeout = options.timeout
        self.headers = dict(headers or {})
        self.session = self.new_session()

    def new_session(self) -> requests.Session:
        session = requests.Session()
        # identity: Range offsets and sizes must count the file's bytes, not a compressed stream's
        session.headers.update({"Accept-Encoding": "identity", "User-Agent": f"llavamix/{__version__}"})
        session.headers.update(self.headers)
        return session

    def fork(self) -> HttpRemote:
        """The same file over a Session of its own: one more connection for a segmented download."""
        twin = copy.copy(self)
        twin.session = self.new_session()
        return twin

    def close(self) -> None:
        self.session.close()

    def open(self, offset: int, validator: str | None) -> contextlib.AbstractContextManager[Body]:
        return self.open_span(offset, None, validator)

    @contextlib.contextmanager
    def open_span(self, first: int, end: int | None, validator: str | None) -> Iterator[Body]:
        """Bytes ``[first, end)`` (a Range request, with If-Range when there is a validator: a changed file comes
        back whole, with its new validator, instead of a piece of the new version)."""
        with self.request(self.url, first, validator, end) as resp, CANCEL.on_cancel(functools.partial(_hang_up, resp)):
            yield self.body(resp, first)

    def request(self, url: str, offset: int, validator: str | None, end: int | None = None) -> requests.Response:
        """A streamed GET of ``url`` from byte ``offset`` (to ``end``, if given); connection problems become
        Transient or Refused."""
        headers = {}
        if offset or end is not None:
            headers["Range"] = f"bytes={offset}-{'' if end is None else end - 1}"
            if validator:
                headers["If-Range"] = validator  # a changed file comes back whole (200) instead of spliced
        try:
            return self.session.get(url, headers=headers, stream=True, timeout=self.timeout)
        except requests.exceptions.SSLError as exc:  # a certificate problem does not heal by retrying
            raise Refused(f"{url}: TLS failed ({exc}); check the system's CA certificates") from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise Transient(f"cannot connect: {exc}") from None
        except requests.RequestException as exc:
            raise Refused(f"{url}: {exc}") from None

    def body(self, resp: requests.Response, offset: int) -> Body:
        status = resp.status_code
        if status in (200, 206):
            self.check_encoding(resp)
        if status == 206:
            return self.partial(resp, offset)
        if status == 200:
            length = resp.headers.get("Content-Length")
            total = int(length) if length and length.isdigit() else None
            ranged = resp.headers.get("Accept-Ranges", "").strip().lower() == "bytes"
            return self.answer(resp, 0, total, total, ranged=ranged)
        if status == 416:
            return self.unsatisfiable(resp, offset)
        reason = f"{resp.url} answered {status} {resp.reason}"
        if status == 429 or status >= 500:
            raise Transient(reason, retry_after(resp.headers.get("Retry-After")))
        raise Refused(reason)

    def check_encoding(self, resp: requests.Response) -> None:
        """Refuse a body encoded despite ``Accept-Encoding: identity``: its bytes are not the file's."""
        encoding = resp.headers.get("Content-Encoding", "").strip().lower()
        if encoding not in ("", "identity"):
            raise Refused(
                f"{resp.url} answered with Content-Encoding {encoding} although identity (the file's own bytes) "
                "was asked for; a proxy between here and the server may be compressing it"
            )

    def partial(self, resp: requests.Response, offset: int) -> Body:
        first, last, total = content_range(resp.headers.get("Content-Range", ""))
        if first != offset or last is None or (total is not None and last >= total):
            raise RangeRejected(f"asked for bytes from {offset}, got Content-Range {resp.headers.get('Content-Range')}")
        return self.answer(resp, offset, total, last + 1, ranged=True)

    def answer(self, resp: requests.Response, start: int, total: int | None, end: int | None, *, ranged: bool) -> Body:
        hang_up = functools.partial(_hang_up, resp)
        return Body(start, total, _chunks(resp), validator_of(resp), end, ranged, hang_up)

    def unsatisfiable(self, resp: requests.Response, offset: int) -> Body:
        _, _, total = content_range(resp.headers.get("Content-Range", ""))
        if total == offset:  # the partial file already holds every byte
            return Body(offset, total, ())
        raise RangeRejected(f"the server cannot resume at byte {offset} (file is {total} bytes)")


def _chunks(resp: requests.Response) -> Iterator[bytes]:
    """The body as it arrives: read1 hands over every byte received before a drop, so a resume loses none."""
    try:
        while chunk := resp.raw.read1(CHUNK, decode_content=False):
            yield chunk
    except (urllib3.exceptions.HTTPError, OSError) as exc:  # connection dropped, read timeout, short body
        raise Transient(f"download interrupted: {exc}") from None


def _hang_up(resp: requests.Response) -> None:
    """Shut the response's socket down: a thread blocked reading it wakes at once (a stalled server would
    otherwise hold a stop request for up to the read timeout)."""
    sock = getattr(getattr(resp.raw, "connection", None), "sock", None)
    if sock is None:  # a body that ends when the connection closes: http.client handed the socket to the response
        reader = getattr(getattr(resp.raw, "_fp", None), "fp", None)
        sock = getattr(getattr(reader, "raw", None), "_sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def content_range(value: str) -> tuple[int | None, int | None, int | None]:
    """``'bytes 10-99/100'`` -> ``(10, 99, 100)``; unknown parts are None."""
    m = CONTENT_RANGE.fullmatch(value.strip())
    if m is None:
        return None, None, None
    first, last, total = m.groups()
    return (int(first) if first else None, int(last) if last else None, int(total) if total.isdigit() else None)


def validator_of(resp: requests.Response) -> str | None:
    """A strong ETag, else Last-Modified: what If-Range accepts."""
    etag = resp.headers.get("ETag")
    if etag and not etag.startswith("W/"):
        return etag
    return resp.headers.get("Last-Modified")


def retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta seconds or an HTTP date)."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def remote(source: Source, options: FetchOptions) -> HttpRemote:
    return HttpRemote(source.url, options)
