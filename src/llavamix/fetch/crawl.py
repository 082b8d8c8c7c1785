"""Getting many small files by URL: one pooled requests Session shared by every worker, a per-host connection
cap, and the triage of each answer into the bytes, a dead URL (never retried) or a transient failure (retried).

Which URLs are followed depends on where the index came from: an index read from a local file (a ``file:``
catalog URL, as the embedded sample's) may name local images, one that came over the network only http(s) ones,
so a downloaded index cannot make the crawl read this machine's files. Every body is capped at
``CrawlOptions.max_image_bytes`` and must keep ``CrawlOptions.pace``; local reads open regular files only.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import ParseResult, unquote, urlparse
from urllib.request import url2pathname

import requests
import urllib3
from requests.adapters import HTTPAdapter

from llavamix import __version__
from llavamix.fetch.http import retry_after
from llavamix.fetch.limiter import HostLimiter
from llavamix.fetch.options import CrawlOptions
from llavamix.fetch.remote import Transient
from llavamix.fetch.stall import StallWatch
from llavamix.foundation.io import CHUNK, NotRegularFileError, human_bytes, open_regular

RETRYABLE = frozenset({408, 425, 429})  # and every 5xx: the server may answer next time
NETWORK = frozenset({"http", "https"})


def allowed_schemes(origin: str) -> frozenset[str]:
    """The image URL schemes an index that came from ``origin`` may name: ``file`` only for a local index."""
    return NETWORK | {"file"} if urlparse(origin).scheme == "file" else NETWORK


class Dead(Exception):
    """The URL will not give the file (404, 403, not an image...); the reason is reported, never retried."""


class Crawler:
    """Fetches whole small files; safe to share between threads (requests' pool is; the Session is only read)."""

    def __init__(self, options: CrawlOptions, origin: str) -> None:
        self.options, self.origin = options, origin
        self.schemes = allowed_schemes(origin)
        self.timeout = options.timeout
        self.limiter = HostLimiter(default=options.host_connections)
        self.session = requests.Session()
        # one pooled connection per worker and host: no TCP or TLS set-up per image after the first
        adapter = HTTPAdapter(pool_connections=8, pool_maxsize=options.jobs, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.update({"User-Agent": f"llavamix/{__version__}"})
        # requests reads the proxy, CA-bundle and netrc settings from the environment on every request, which
        # costs as much as a small GET; read them once (proxies once per host) instead
        self.session.trust_env = False
        self.session.verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
        self._proxies: dict[str, dict[str, str]] = {}

    def get(self, url: str) -> bytes:
        """The file's bytes; raises Dead or Transient."""
        parsed = urlparse(url)
        if parsed.scheme == "file" and "file" in self.schemes:
            return read_local(url, self.options.max_image_bytes)
        if parsed.scheme not in NETWORK or not parsed.hostname:
            raise Dead(self.refusal(url, parsed.scheme))
        with self.limiter.slot(parsed.hostname):
            try:
                with self.session.get(url, timeout=self.timeout, proxies=self.proxies(parsed), stream=True) as resp:
                    return self.triage(resp)
            except (requests.ConnectionError, requests.Timeout) as exc:
                raise Transient(f"{url}: {exc}") from None
            except requests.RequestException as exc:
                raise Dead(f"{url}: {exc}") from None

    def refusal(self, url: str, scheme: str) -> str:
        if scheme == "file":
            return (
                f"{url}: a file: URL in an index that came from {self.origin}; only http(s) image URLs are "
                "followed from an index fetched over the network"
            )
        schemes = "http(s):// or file:" if "file" in self.schemes else "http(s)://"
        return f"unsupported URL {url!r} (image URLs must be {schemes})"

    def proxies(self, parsed: ParseResult) -> dict[str, str]:
        key = f"{parsed.scheme}://{parsed.netloc}"
        found = self._proxies.get(key)
        if found is None:  # a race only computes the same answer twice
            found = self._proxies[key] = requests.utils.get_environ_proxies(key)
        return found

    def close(self) -> None:
        self.session.close()

    def triage(self, resp: requests.Response) -> bytes:
        status = resp.status_code
        if status == 200:
            return self.read(resp)
        if status in RETRYABLE or status >= 500:
            raise Transient(f"HTTP {status}", retry_after(resp.headers.get("Retry-After")))
        raise Dead(f"HTTP {status}")

    def read(self, resp: requests.Response) -> bytes:
        """The body, up to the cap and at the pace the options ask for."""
        cap = self.options.max_image_bytes
        length = resp.headers.get("Content-Length", "")
        if length.isdigit() and int(length) > cap:
            raise too_big(resp.url, cap)
        try:
            return capped(_received(resp), cap, resp.url, StallWatch(self.options.pace))
        except urllib3.exceptions.DecodeError as exc:
            raise Dead(f"{resp.url}: {exc}") from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:  # connection dropped, read timeout
            raise Transient(f"{resp.url}: {exc}") from None


def _received(resp: requests.Response) -> Iterator[bytes]:
    """The body as it arrives (decoded), so the pace is judged on every piece, not on whole 1 MiB reads."""
    while chunk := resp.raw.read1(CHUNK, decode_content=True):
        yield chunk


def capped(chunks: Iterable[bytes], cap: int, url: str, watch: StallWatch | None = None) -> bytes:
    """The chunks joined; Dead as soon as they exceed ``cap`` bytes."""
    data = bytearray()
    for chunk in chunks:
        data += chunk
        if len(data) > cap:
            raise too_big(url, cap)
        if watch is not None:
            watch.feed(len(chunk))
    return bytes(data)


def too_big(url: str, cap: int) -> Dead:
    return Dead(f"{url}: larger than {human_bytes(cap)}, the most an image may be (CrawlOptions.max_image_bytes)")


def read_local(url: str, cap: int) -> bytes:
    """A local image's bytes: a regular file (never a FIFO or a device such as /dev/zero), at most ``cap``."""
    path = Path(url2pathname(unquote(urlparse(url).path)))
    try:
        with open_regular(path) as fh:
            return capped(iter(lambda: fh.read(CHUNK), b""), cap, url)
    except FileNotFoundError:
        raise Dead(f"no file {path}") from None
    except NotRegularFileError as exc:
        raise Dead(f"{path}: {exc.strerror}") from None
    except OSError as exc:
        raise Transient(f"cannot read {path}: {exc.strerror}") from None
