"""Getting many small files by URL: one pooled requests Session shared by every worker, a per-host connection
cap, and the triage of each answer into the bytes, a dead URL (never retried) or a transient failure (retried)."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlparse
from urllib.request import url2pathname

import requests
from requests.adapters import HTTPAdapter

from llavamix import __version__
from llavamix.fetch.http import retry_after
from llavamix.fetch.limiter import HostLimiter
from llavamix.fetch.options import CrawlOptions
from llavamix.fetch.remote import Transient

RETRYABLE = frozenset({408, 425, 429})  # and every 5xx: the server may answer next time


class Dead(Exception):
    """The URL will not give the file (404, 403, not an image...); the reason is reported, never retried."""


class Crawler:
    """Fetches whole small files; safe to share between threads (requests' pool is; the Session is only read)."""

    def __init__(self, options: CrawlOptions) -> None:
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
        if parsed.scheme == "file":
            return read_local(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise Dead(f"unsupported URL {url!r}")
        with self.limiter.slot(parsed.hostname):
            try:
                resp = self.session.get(url, timeout=self.timeout, proxies=self.proxies(parsed.scheme, parsed.netloc))
            except (requests.ConnectionError, requests.Timeout) as exc:
                raise Transient(f"{url}: {exc}") from None
            except requests.RequestException as exc:
                raise Dead(f"{url}: {exc}") from None
        return triage(resp)

    def proxies(self, scheme: str, netloc: str) -> dict[str, str]:
        key = f"{scheme}://{netloc}"
        found = self._proxies.get(key)
        if found is None:  # a race only computes the same answer twice
            found = self._proxies[key] = requests.utils.get_environ_proxies(key)
        return found

    def close(self) -> None:
        self.session.close()


def triage(resp: requests.Response) -> bytes:
    status = resp.status_code
    if status == 200:
        return resp.content
    if status in RETRYABLE or status >= 500:
        raise Transient(f"HTTP {status}", retry_after(resp.headers.get("Retry-After")))
    raise Dead(f"HTTP {status}")


def read_local(url: str) -> bytes:
    path = Path(url2pathname(unquote(urlparse(url).path)))
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise Dead(f"no file {path}") from None
    except OSError as exc:
        raise Transient(f"cannot read {path}: {exc.strerror}") from None
