"""Asking a source's server how big its file is, before any download: a HEAD request, else a one-byte Range
request, the Hub's file metadata for ``hf://``, the size of a local file, and for Drive the headers of the answer
(gdown has no cheaper way); several sources at once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import requests

from llavamix.catalog import Source
from llavamix.fetch.http import HttpRemote, content_range
from llavamix.fetch.options import FetchOptions
from llavamix.fetch.remote import Refused, Remote, Transient
from llavamix.fetch.sources import opener
from llavamix.foundation.errors import LlavamixError
from llavamix.foundation.tasks import run_tasks

PROBES_AT_ONCE = 8


@dataclass(frozen=True)
class SizeProbe:
    """What a server said of a source's size: ``size`` in bytes (None: it did not tell), ``how`` it was asked,
    and ``problem``: why it could not tell."""

    source: str
    size: int | None
    how: str = ""
    problem: str | None = None


def probe_size(source: Source, options: FetchOptions) -> SizeProbe:
    """The size the source's server gives now; never raises for a server that cannot or will not tell."""
    try:
        remote = opener(source.scheme)(source, options)
        if remote.expected.size is not None:  # the Hub's metadata
            return SizeProbe(source.name, remote.expected.size, "metadata")
        if isinstance(remote, HttpRemote):
            return _ask_http(source.name, remote)
        return _ask_by_opening(source.name, remote)
    except (LlavamixError, Refused, Transient, OSError, requests.RequestException) as exc:
        return SizeProbe(source.name, None, problem=str(exc))


def probe_sizes(sources: Sequence[Source], options: FetchOptions) -> dict[str, SizeProbe]:
    """``probe_size`` of every source, several at once."""
    report = run_tasks(sources, lambda s: probe_size(s, options), key=lambda s: s.name, jobs=PROBES_AT_ONCE)
    return {o.key: o.value for o in report.outcomes if o.value is not None}


def _ask_http(name: str, remote: HttpRemote) -> SizeProbe:
    try:
        head = remote.session.head(remote.url, allow_redirects=True, timeout=remote.timeout)
        length = head.headers.get("Content-Length", "")
        if head.ok and length.isdigit() and head.headers.get("Content-Encoding", "identity") == "identity":
            return SizeProbe(name, int(length), "HEAD")
        with remote.session.get(
            remote.url, headers={"Range": "bytes=0-0"}, stream=True, timeout=remote.timeout
        ) as resp:
            if resp.status_code == 206:
                total = content_range(resp.headers.get("Content-Range", ""))[2]
                return SizeProbe(name, total, "Range", None if total else "no total in its Content-Range")
            length = resp.headers.get("Content-Length", "")
            if resp.status_code == 200 and length.isdigit():
                return SizeProbe(name, int(length), "GET")
            return SizeProbe(name, None, problem=f"HEAD answered {head.status_code}, GET {resp.status_code}")
    finally:
        remote.close()


def _ask_by_opening(name: str, remote: Remote) -> SizeProbe:
    with remote.open(0, None) as body:
        body.hang_up()
        return SizeProbe(name, body.total, "answer", None if body.total is not None else "no size in its answer")
