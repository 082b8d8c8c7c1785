"""The bounds of a download against a misbehaving loopback server: no more bytes than expected, no body of unknown
size without end, a minimum pace, no encoded body installed as the file, and free space checked before starting."""

from __future__ import annotations

import pytest

from llavamix.catalog import Source
from llavamix.fetch import FetchOptions, fetch_source
from llavamix.fetch.options import MiB, Pace
from llavamix.foundation.errors import ChecksumError, DiskSpaceError, FetchError
from llavamix.foundation.io import free_bytes
from tests.fetch.conftest import FAST, leftovers, payload, source
from tests.httpserver import Fault

DATA = payload(6_000)
ENDLESS = 256 * MiB  # junk after the file: far more than any bound below, yet finite should a bound be missing
SLACK = 32 * MiB  # what socket buffers may take in before the client hangs up


def test_a_body_longer_than_the_expected_size_is_stopped_at_once(server, layout):
    src = source("a", server.add("/a.zip", DATA), DATA)
    server.fault("/a.zip", Fault(extra=ENDLESS))
    with pytest.raises(ChecksumError, match=r"/a\.zip sent more than the 6,000 bytes that were expected.*catalog"):
        fetch_source(src, layout, FAST)
    assert server.bytes_served["/a.zip"] < SLACK
    assert len(server.gets("/a.zip")) == 1
    assert not layout.download_path("a", "a.zip").exists()
    assert leftovers(layout) == []


def test_an_endless_body_of_unknown_size_stops_at_the_ceiling(server, layout):
    src = source("a", server.add("/a.zip", DATA))  # no size, no checksum, no Content-Length
    server.fault("/a.zip", Fault(extra=ENDLESS))
    with pytest.raises(ChecksumError, match=r"sent more than 1\.0 MiB without announcing a size.*add its size"):
        fetch_source(src, layout, FetchOptions(max_unknown_size=MiB))
    assert server.bytes_served["/a.zip"] < SLACK
    assert not layout.download_path("a", "a.zip").exists()
    assert not layout.marker("a", "fetch").exists()
    assert leftovers(layout) == []


def test_a_body_of_unknown_size_under_the_ceiling_lands(server, layout):
    src = source("a", server.add("/a.zip", DATA))
    server.fault("/a.zip", Fault(extra=1000))
    got = fetch_source(src, layout, FetchOptions(max_unknown_size=MiB))
    assert got.size == len(DATA) + 1000 and got.path.read_bytes()[: len(DATA)] == DATA


def test_a_trickling_server_is_a_stall_that_resumes(server, layout):
    data = payload(20_000)
    src = source("a", server.add("/a.zip", data), data)
    server.fault("/a.zip", Fault(trickle=0.05, trickle_chunk=200))  # the whole file would take >= 5 s
    # more than the file per window: any answer that takes over 0.5 s stalls, however loaded the machine is
    pace = Pace(min_bytes=2 * len(data), seconds=0.5)
    got = fetch_source(src, layout, FetchOptions(backoff=0.01, pace=pace))
    assert got.path.read_bytes() == data
    first, *resumes = server.gets("/a.zip")
    assert first.headers.get("Range") is None and resumes
    assert all(r.status == 206 and r.headers["Range"] != "bytes=0-" for r in resumes)


def test_a_gzip_encoded_answer_is_refused_not_installed(server, layout):
    src = source("a", server.add("/a.zip", DATA))  # no size, no checksum: nothing else would notice
    server.fault("/a.zip", Fault(encoding="gzip"))
    dest = layout.download_path("a", "a.zip")
    with pytest.raises(FetchError, match=rf"Content-Encoding gzip although identity.*put it at {dest}"):
        fetch_source(src, layout, FAST)
    assert server.gets("/a.zip")[0].headers["Accept-Encoding"] == "identity"
    assert not dest.exists()
    assert leftovers(layout) == []
    assert fetch_source(src, layout, FAST).path.read_bytes() == DATA  # the rerun, once the server behaves


def test_a_catalog_size_beyond_the_free_space_fails_before_any_request(server, layout):
    huge = free_bytes(layout.root.parent) + (1 << 40)
    src = Source(name="a", url=server.add("/a.zip", DATA), into="a", size=huge)
    dest = layout.download_path("a", "a.zip")
    with pytest.raises(DiskSpaceError, match=rf"{dest} needs .* \({huge:,} bytes\) but .* free.*--downloads"):
        fetch_source(src, layout, FAST)
    assert server.requests == []


def test_a_content_length_beyond_the_free_space_is_refused_before_the_body(server, layout):
    src = source("a", server.add("/a.zip", DATA))  # the size is known only from the answer
    dest = layout.download_path("a", "a.zip")
    server.fault("/a.zip", Fault(length=1 << 50))
    with pytest.raises(DiskSpaceError, match=rf"{dest} needs 1024\.0 TiB more \({1 << 50:,} bytes\)"):
        fetch_source(src, layout, FetchOptions(retries=0, timeout=1.0))
    assert len(server.gets("/a.zip")) == 1
