"""http(s) downloads against a real loopback server with injected faults."""

from __future__ import annotations

import email.utils
import hashlib
import threading
import time
from pathlib import Path

import msgspec
import pytest

from llavamix.fetch import FetchOptions, fetch_source
from llavamix.fetch import download as download_mod
from llavamix.fetch.http import content_range, retry_after
from llavamix.fetch.part import PartFile, validator_path
from llavamix.foundation.errors import ChecksumError, FetchError
from llavamix.foundation.io import CHUNK, part_path
from llavamix.foundation.tasks import CANCEL, Cancelled
from tests.fetch.conftest import FAST, RecordingProgress, leftovers, payload, source
from tests.httpserver import LAST_MODIFIED, Fault

DATA = payload(300_000)


def test_plain_download_lands_verified_with_marker(server, layout):
    src = source("a", server.add("/a.zip", DATA), DATA)
    got = fetch_source(src, layout, FAST)
    assert got.how == "downloaded"
    assert got.path == layout.download_path("a", "a.zip")
    assert got.path.read_bytes() == DATA
    assert got.digest == "md5:" + hashlib.md5(DATA).hexdigest()
    assert layout.marker("a", "fetch").is_file()
    assert leftovers(layout) == []


def test_dropped_connection_resumes_with_range(server, layout):
    src = source("a", server.add("/a.zip", DATA), DATA)
    server.fault("/a.zip", Fault(drop_after=100_000), Fault(drop_after=50_000))
    got = fetch_source(src, layout, FAST)
    assert got.path.read_bytes() == DATA
    assert server.ranges("/a.zip") == [None, "bytes=100000-", "bytes=150000-"]
    assert server.bytes_served["/a.zip"] == len(DATA)  # nothing was sent twice


def test_resume_sends_if_range_and_restarts_when_the_file_changed(server, layout):
    src = source("a", server.add("/a.zip", DATA), DATA)
    dest = layout.download_path("a", "a.zip")
    dest.parent.mkdir(parents=True)
    part_path(dest).write_bytes(b"x" * 1000)  # bytes of an older version of the file
    validator_path(dest).write_text('"old-etag"')
    got = fetch_source(src, layout, FAST)
    assert got.path.read_bytes() == DATA
    assert server.gets("/a.zip")[0].headers["If-Range"] == '"old-etag"'
    assert server.gets("/a.zip")[0].status == 200
    assert not validator_path(dest).exists()


@pytest.mark.parametrize("etag", [None, ""], ids=["etag", "last-modified"])
def test_a_real_download_records_its_validator_and_a_changed_file_restarts(server, layout, etag):
    old, new = payload(300_000, seed=1), payload(300_000, seed=2)  # same size: only the validator tells them apart
    src = source("a", server.add("/a.zip", old, etag=etag), old, checksum=None)
    server.fault("/a.zip", Fault(drop_after=100_000))
    with pytest.raises(FetchError, match="rerun to resume"):
        fetch_source(src, layout, FetchOptions(retries=0))
    dest = layout.download_path("a", "a.zip")
    recorded = validator_path(dest).read_text()
    assert recorded == (server.entries["/a.zip"].etag or LAST_MODIFIED)
    assert part_path(dest).read_bytes() == old[:100_000]

    server.change("/a.zip", new)
    got = fetch_source(src, layout, FAST)
    assert got.path.read_bytes() == new, "the old version's bytes were spliced with the new one's"
    resume = server.gets("/a.zip")[1]
    assert (resume.headers["Range"], resume.headers["If-Range"], resume.status) == ("bytes=100000-", recorded, 200)


def test_a_206_from_another_offset_is_not_spliced(server, layout):
    src = source("a", server.add("/a.zip", DATA), checksum=None, size=False)  # nothing else would notice
    server.fault("/a.zip", Fault(drop_after=100_000), Fault(range_from=40_000))
    got = fetch_source(src, layout, FAST)
    assert got.path.read_bytes() == DATA
    assert server.ranges("/a.zip") == [None, "bytes=100000-", None]  # refused the odd range, then from zero


def test_a_weak_etag_is_never_sent_as_if_range(server, layout):
    src = source("a", server.add("/a.zip", DATA, etag='W/"v1"'), DATA)
    server.fault("/a.zip", Fault(drop_after=100_000))
    got = fetch_source(src, layout, FAST)
    assert got.path.read_bytes() == DATA
    # If-Range needs a strong validator (RFC 9110 13.1.5): the weak ETag is skipped for Last-Modified
    assert server.gets("/a.zip")[1].headers["If-Range"] == LAST_MODIFIED


def test_a_body_without_length_shorter_than_the_catalog_size_is_refused(server, layout):
    src = source("a", server.add("/a.zip", DATA), DATA, checksum=None)
    src = msgspec.structs.replace(src, size=len(DATA) + 10)
    server.fault("/a.zip", Fault(no_length=True, repeat=True))
    with pytest.raises(ChecksumError, match=rf"{len(DATA)} bytes where {len(DATA) + 10} were expected"):
        fetch_source(src, layout, FAST)
    assert not layout.download_path("a", "a.zip").exists()
    assert not layout.marker("a", "fetch").exists()


def test_server_ignoring_range_restarts_from_zero(server, layout):
    src = source("a", server.add("/a.zip", DATA), DATA)
    server.fault("/a.zip", Fault(drop_after=100_000), Fault(ignore_range=True))
    got = fetch_source(src, layout, FAST)
    assert got.path.read_bytes() == DATA
    assert [r.status for r in server.gets("/a.zip")] == [200, 200]


def test_complete_part_file_is_finished_without_downloading(server, layout):
    src = source("a", server.add("/a.zip", DATA), DATA, size=False)  # size unknown: the server must say 416
    dest = layout.download_path("a", "a.zip")
    dest.parent.mkdir(parents=True)
    part_path(dest).write_bytes(DATA)
    got = fetch_source(src, layout, FAST)
    assert got.how == "resumed"
    assert [r.status for r in server.gets("/a.zip")] == [416]
    assert server.bytes_served["/a.zip"] == 0


def test_503_then_200(server, layout):
    src = source("a", server.add("/a.zip", DATA), DATA)
    server.fault("/a.zip", Fault(status=503), Fault(status=502))
    got = fetch_source(src, layout, FAST)
    assert got.path.read_bytes() == DATA
    assert [r.status for r in server.gets("/a.zip")] == [503, 502, 200]


def test_429_waits_as_long_as_retry_after_says(server, layout, monkeypatch):
    waits: list[float] = []
    monkeypatch.setattr(download_mod.CANCEL, "sleep", waits.append)
    src = source("a", server.add("/a.zip", DATA), DATA)
    server.fault("/a.zip", Fault(status=429, retry_after="7"), Fault(status=503))
    fetch_source(src, layout, FAST)
    assert waits[0] == 7.0
    assert waits[1] < 1.0  # plain exponential backoff from FAST


def test_retry_after_as_an_http_date_is_honoured(server, layout):
    src = source("a", server.add("/a.zip", DATA), DATA)
    when = email.utils.formatdate(time.time() + 3, usegmt=True)  # whole seconds: 2 to 3 s from now
    server.fault("/a.zip", Fault(status=503, retry_after=when))
    started = time.monotonic()
    assert fetch_source(src, layout, FAST).path.read_bytes() == DATA
    assert time.monotonic() - started >= 1.5  # FAST's own backoff is under 0.05 s
    assert [r.status for r in server.gets("/a.zip")] == [503, 200]


def test_persistent_5xx_gives_up_with_advice(server, layout):
    src = source("a", server.add("/a.zip", DATA), DATA)
    server.fault("/a.zip", Fault(status=500, repeat=True))
    with pytest.raises(FetchError, match=r"500 .*gave up after 3 attempts.*rerun") as err:
        fetch_source(src, layout, FetchOptions(retries=2, backoff=0.01))
    assert str(layout.download_path("a", "a.zip")) in str(err.value)
    assert len(server.gets("/a.zip")) == 3


def test_slow_trickle_completes(server, layout):
    data = DATA[:40_000]
    src = source("a", server.add("/a.zip", data), data)
    server.fault("/a.zip", Fault(trickle=0.002, trickle_chunk=2_000))
    assert fetch_source(src, layout, FAST).path.read_bytes() == data


def test_stalled_trickle_times_out_and_resumes(server, layout):
    src = source("a", server.add("/a.zip", DATA), DATA)
    server.fault("/a.zip", Fault(drop_after=10_000), Fault(trickle=3.0, trickle_chunk=1000))
    got = fetch_source(src, layout, FetchOptions(backoff=0.01, timeout=0.3))
    assert got.path.read_bytes() == DATA
    assert server.ranges("/a.zip") == [None, "bytes=10000-", "bytes=10000-"]


def test_wrong_bytes_once_are_deleted_and_downloaded_again(server, layout):
    src = source("a", server.add("/a.zip", DATA), DATA)
    server.fault("/a.zip", Fault(corrupt=True))
    got = fetch_source(src, layout, FAST)
    assert got.path.read_bytes() == DATA
    assert server.bytes_served["/a.zip"] == 2 * len(DATA)


def test_wrong_bytes_twice_fail_saying_expected_and_got(server, layout):
    src = source("a", server.add("/a.zip", DATA), DATA, checksum="sha256")
    server.fault("/a.zip", Fault(corrupt=True, repeat=True))
    bad = hashlib.sha256(DATA.translate(bytes(255 - i for i in range(256)))).hexdigest()
    with pytest.raises(ChecksumError, match=f"sha256 {bad} where {src.sha256} was expected"):
        fetch_source(src, layout, FAST)
    assert len(server.gets("/a.zip")) == 2
    assert not layout.download_path("a", "a.zip").exists()
    assert leftovers(layout) == []
    assert not layout.marker("a", "fetch").exists()


def test_size_disagreeing_with_catalog_fails_before_downloading(server, layout):
    url = server.add("/a.zip", DATA)
    src = source("a", url, DATA + b"more")
    with pytest.raises(ChecksumError, match="300000 bytes where 300004 were expected"):
        fetch_source(src, layout, FAST)
    assert leftovers(layout) == []  # nothing was received, so no partial file is left


@pytest.mark.parametrize("status", [404, 403, 410])
def test_client_errors_are_not_retried_and_name_the_manual_route(server, layout, status):
    url = server.add("/a.zip", DATA)
    server.fault("/a.zip", Fault(status=status))
    dest = layout.download_path("a", "a.zip")
    with pytest.raises(FetchError, match=f"{url} answered {status}") as err:
        fetch_source(source("a", url, DATA), layout, FAST)
    assert f"put it at {dest}, then rerun" in str(err.value)
    assert len(server.gets("/a.zip")) == 1
    assert leftovers(layout) == []


def test_connection_refused_is_retried_then_reported(layout):
    src = source("a", "http://127.0.0.1:9/a.zip", DATA)  # the discard port: nobody listens on loopback
    with pytest.raises(FetchError, match=r"cannot connect.*gave up after 2 attempts"):
        fetch_source(src, layout, FetchOptions(retries=1, backoff=0.01))


def test_progress_counts_resumed_bytes_as_completed(server, layout):
    src = source("a", server.add("/a.zip", DATA), DATA)
    dest = layout.download_path("a", "a.zip")
    dest.parent.mkdir(parents=True)
    part_path(dest).write_bytes(DATA[:123_456])
    progress = RecordingProgress()
    got = fetch_source(src, layout, FetchOptions(progress=progress))
    assert got.how == "resumed"
    assert progress.calls[0] == ("start", "a", (len(DATA), 123_456))
    assert progress.advanced("a") == len(DATA) - 123_456
    assert progress.calls[-1] == ("finish", "a", None)


def test_unknown_size_is_checked_against_content_length(server, layout):
    src = source("a", server.add("/a.zip", DATA), DATA, size=False, checksum=None)
    server.fault("/a.zip", Fault(drop_after=1000))
    got = fetch_source(src, layout, FAST)
    assert got.size == len(DATA)
    assert got.digest is None
    assert server.ranges("/a.zip") == [None, "bytes=1000-"]


def test_header_parsers():
    assert content_range("bytes 10-99/100") == (10, 99, 100)
    assert content_range("bytes */100") == (None, None, 100)
    assert content_range("bytes 0-9/*") == (0, 9, None)
    assert content_range("nonsense") == (None, None, None)
    assert retry_after("120") == 120.0
    assert retry_after("Wed, 01 Jan 2020 00:00:00 GMT") == 0.0
    assert retry_after("soon") is None


def test_a_stop_request_interrupts_rehashing_a_resumed_part(tmp_path: Path) -> None:
    dest = tmp_path / "file.bin"
    part_path(dest).write_bytes(b"y" * (2 * CHUNK))
    CANCEL.cancel()
    try:
        with pytest.raises(Cancelled):
            PartFile(dest, "sha256")
    finally:
        CANCEL.clear()
    assert part_path(dest).stat().st_size == 2 * CHUNK  # the bytes stay for the next run


@pytest.mark.parametrize("known", [True, False], ids=["size-known", "nothing-known"])
def test_a_stop_hangs_up_a_stalled_transfer_at_once_and_keeps_the_part(server, layout, known):
    """A server that stops sending leaves the reader blocked in recv; a stop request must not wait for the read
    timeout, and the body cut short by the hang-up must never be installed as the whole file."""
    data = payload(1_000_000)
    src = source("a", server.add("/a.zip", data), data if known else None)
    hold = Fault(hold_after=200_000, trickle=0.001, trickle_chunk=50_000, no_length=not known)
    server.fault("/a.zip", hold)
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            fetch_source(src, layout, FetchOptions(timeout=120.0))
        except BaseException as exc:  # noqa: BLE001 - the test inspects what ended the fetch
            outcome.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    part = part_path(layout.download_path("a", "a.zip"))
    try:
        deadline = time.monotonic() + 60
        while not (part.exists() and part.stat().st_size >= 200_000) and time.monotonic() < deadline:
            time.sleep(0.02)
        CANCEL.cancel()
        worker.join(20)  # the read timeout is 120 s: only the hang-up ends the read this soon
        assert not worker.is_alive(), "the stop waited for the stalled read"
    finally:
        CANCEL.clear()
        hold.resume.set()
        worker.join(60)
    assert len(outcome) == 1 and isinstance(outcome[0], Cancelled)
    assert part.stat().st_size == 200_000
    assert not layout.download_path("a", "a.zip").exists()
    assert not layout.marker("a", "fetch").exists()
