"""Segmented downloads against the loopback server: several connections within the caps, and every way a server
can get ranges wrong ending in the right file or a clear error, never a file that mixes bytes."""

from __future__ import annotations

import functools
import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest

from llavamix.fetch import fetch_source, fetch_sources
from llavamix.fetch.options import MiB, Split
from llavamix.fetch.part import SpreadPart, validator_path
from llavamix.fetch.segments import Segment, SegmentMap, load, map_path
from llavamix.foundation.errors import ChecksumError
from llavamix.foundation.io import part_path
from llavamix.foundation.tasks import CANCEL, Cancelled
from tests.fetch.conftest import FAST, RecordingProgress, leftovers, payload, source
from tests.httpserver import Fault, LoopbackServer, Seen

SIZE = 8 * MiB  # eight pieces of 1 MiB (the smallest segment) with the default split
SMALL = Split(min_segment=256 * 1024)  # 32 pieces of 256 KiB: more pieces than connections


@functools.cache
def big(seed: int = 0) -> bytes:
    return payload(SIZE, seed)


def sent(server: LoopbackServer, path: str) -> int:
    return server.sent_to(server.gets(path))


def ranged(server: LoopbackServer, path: str) -> list[Seen]:
    return [r for r in server.gets(path) if r.status == 206]


def in_background(run: Callable[[], object]) -> tuple[threading.Thread, list[BaseException]]:
    """``run()`` on a thread; what it raised is kept."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            run()
        except BaseException as exc:  # noqa: BLE001 - the test inspects it
            errors.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread, errors


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout}s")
        time.sleep(0.01)


def test_a_big_file_comes_over_several_connections_each_byte_once(server, layout):
    src = source("a", server.add("/a.zip", big()), big())
    server.rate = 4 * MiB
    server.gather(2, timeout=30)  # the first answer's body waits for a second request: seen, however loaded
    got = fetch_source(src, layout, FAST)
    assert got.path.read_bytes() == big()
    assert got.digest == "md5:" + hashlib.md5(big()).hexdigest()
    assert server.max_active_all > 1
    assert sent(server, "/a.zip") == SIZE
    assert all(r.headers["If-Range"] == server.entries["/a.zip"].etag for r in ranged(server, "/a.zip")[1:])
    assert leftovers(layout) == []


@pytest.mark.parametrize("cap", [1, 2, 3])
def test_the_host_cap_holds_across_segments_and_files(server, layout, cap):
    sources = [source(n, server.add(f"/{n}.zip", big(i)), big(i)) for i, n in enumerate("ab")]
    server.rate = 4 * MiB
    server.gather(cap, timeout=10)  # bodies wait for ``cap`` answers in flight: the overlap never hangs on timing
    report = fetch_sources(sources, layout, replace(FAST, jobs=2, split=SMALL), host_caps={"127.0.0.1": cap})
    assert report.ok, report.failed
    assert {f.source: f.path.read_bytes() for f in report.fetched} == {"a": big(0), "b": big(1)}
    assert server.max_active_all == cap


def test_the_total_cap_holds_across_files(server, layout):
    sources = [source(n, server.add(f"/{n}.zip", big(i)), big(i)) for i, n in enumerate("abc")]
    server.rate = 4 * MiB
    server.gather(3, timeout=10)
    report = fetch_sources(sources, layout, replace(FAST, jobs=3, max_connections=3, split=SMALL))
    assert report.ok, report.failed
    assert server.max_active_all == 3


def test_the_bar_tells_the_connections_in_use(server, layout):
    src = source("a", server.add("/a.zip", big()), big())
    server.rate = 4 * MiB
    server.gather(3, timeout=30)
    shown = RecordingProgress()
    fetch_source(src, layout, replace(FAST, connections=3, progress=shown))
    told = [text for op, key, text in shown.calls if op == "detail" and key == "a"]
    assert max(told, key=lambda t: int(str(t).split()[0])) == f"{server.max_active_all} conn" == "3 conn"
    assert told[-1] == "0 conn"


def test_one_connection_when_told(server, layout):
    src = source("a", server.add("/a.zip", big()), big())
    got = fetch_source(src, layout, replace(FAST, connections=1))
    assert got.path.read_bytes() == big()
    assert server.ranges("/a.zip") == [None]


def test_a_range_ignored_midway_goes_on_over_one_connection(server, layout):
    src = source("a", server.add("/a.zip", big()), big(), checksum=None)  # only the bytes' places would tell
    server.fault("/a.zip", Fault(), Fault(), Fault(ignore_range=True))
    got = fetch_source(src, layout, FAST)
    assert got.path.read_bytes() == big()
    statuses = [r.status for r in server.gets("/a.zip")]
    assert statuses[:2] == [206, 206] and 200 in statuses
    assert not map_path(got.path).exists()


def test_a_wrong_content_range_midway_is_never_spliced(server, layout):
    src = source("a", server.add("/a.zip", big()), big(), checksum=None)  # only the bytes' places would tell
    server.fault("/a.zip", Fault(), Fault(range_from=12_345))
    got = fetch_source(src, layout, FAST)
    assert got.path.read_bytes() == big()
    assert server.gets("/a.zip")[1].status == 206  # answered from byte 12345, refused by the client


@pytest.mark.parametrize("fault", [Fault(status=503), Fault(drop_after=300_000)], ids=["503", "drop"])
def test_one_segment_failing_is_fetched_again_and_nothing_twice(server, layout, fault):
    src = source("a", server.add("/a.zip", big()), big())
    server.fault("/a.zip", Fault(), fault)
    got = fetch_source(src, layout, FAST)
    assert got.path.read_bytes() == big()
    assert sent(server, "/a.zip") == SIZE  # the dropped segment went on from where its bytes stopped


def test_a_silent_segment_is_taken_over_and_its_answer_cut(server, layout):
    src = source("a", server.add("/a.zip", big()), big())
    held = Fault(hold_after=0)  # never resumed until the file is complete: only a takeover finishes it
    server.fault("/a.zip", Fault(), held)
    # no retries: the read timeout would fail it, so only the takeover can finish it
    options = replace(FAST, retries=0, timeout=10.0, split=Split(takeover=0.5))
    try:
        got = fetch_source(src, layout, options)
        assert server.gets("/a.zip")[1].sent == 0
    finally:
        held.resume.set()
    assert got.path.read_bytes() == big()


def test_a_file_changing_midway_starts_over_and_never_mixes(server, layout):
    old, new = big(0), big(1)
    src = source("a", server.add("/a.zip", old), old, checksum=None)  # same size: only the ETag tells them apart
    # every answer stops after its first 64 KiB until the change is made: it lands mid-download
    hold = Fault(hold_after=64 * 1024, trickle=0.001, trickle_chunk=64 * 1024, repeat=True)
    server.fault("/a.zip", hold)
    thread, errors = in_background(lambda: fetch_source(src, layout, replace(FAST, split=SMALL)))
    try:
        wait_for(lambda: any(r.sent >= 64 * 1024 for r in server.gets("/a.zip")), "an answer held midway")
        server.change("/a.zip", new)
    finally:
        server.faults.pop("/a.zip")
        hold.resume.set()
        thread.join(120)
    assert not errors, errors
    assert layout.download_path("a", "a.zip").read_bytes() == new
    assert any(r.status == 200 and r.headers.get("If-Range") for r in server.gets("/a.zip"))


def test_a_file_changing_midway_against_its_checksum_is_a_clear_error(server, layout):
    old, new = big(0), big(1)
    src = source("a", server.add("/a.zip", old), old)
    server.change("/a.zip", new)  # the catalog's md5 is the old version's
    with pytest.raises(ChecksumError, match=r"twice gave a file with md5 .* where .* was expected"):
        fetch_source(src, layout, FAST)
    assert not layout.download_path("a", "a.zip").exists()
    assert leftovers(layout) == []


def test_a_part_from_one_connection_is_resumed_by_many(server, layout):
    src = source("a", server.add("/a.zip", big()), big())
    dest = layout.download_path("a", "a.zip")
    dest.parent.mkdir(parents=True)
    part_path(dest).write_bytes(big()[: 3 * MiB + 5])
    validator_path(dest).write_text(server.entries["/a.zip"].etag or "")
    got = fetch_source(src, layout, FAST)
    assert got.how == "resumed" and got.path.read_bytes() == big()
    assert server.ranges("/a.zip")[0] == f"bytes={3 * MiB + 5}-{4 * MiB + 4}"
    assert sent(server, "/a.zip") == SIZE - 3 * MiB - 5
    assert server.max_active_all > 1 or len(server.gets("/a.zip")) > 1


def test_a_saved_map_resumes_every_segment(server, layout):
    src = source("a", server.add("/a.zip", big()), big())
    dest = layout.download_path("a", "a.zip")
    dest.parent.mkdir(parents=True)
    holes = [(0, 2 * MiB, MiB), (2 * MiB, 5 * MiB, 100), (5 * MiB, SIZE, 0)]  # (start, end, done)
    with open(part_path(dest), "wb") as fh:
        for start, _, done in holes:
            fh.seek(start)
            fh.write(big()[start : start + done])
    smap = SegmentMap(SIZE, server.entries["/a.zip"].etag, [Segment(a, b, d) for a, b, d in holes])
    SpreadPart(dest, None, smap).abandon()
    got = fetch_source(src, layout, FAST)
    assert got.path.read_bytes() == big()
    assert sent(server, "/a.zip") == SIZE - MiB - 100
    assert not map_path(dest).exists()


def test_an_unreadable_map_means_the_part_is_downloaded_again(server, layout):
    src = source("a", server.add("/a.zip", big()), big())
    dest = layout.download_path("a", "a.zip")
    dest.parent.mkdir(parents=True)
    part_path(dest).write_bytes(b"\0" * MiB)  # holes of a spread part: never to be taken for the file's start
    map_path(dest).write_text("{not json")
    got = fetch_source(src, layout, FAST)
    assert got.how == "downloaded" and got.path.read_bytes() == big()
    assert server.ranges("/a.zip")[0] == f"bytes=0-{MiB - 1}"


def test_the_contiguous_start_is_hashed_while_the_rest_is_missing(tmp_path: Path):
    data = big()
    smap = SegmentMap.fresh(SIZE, None, 0)
    part = SpreadPart(tmp_path / "f.bin", "sha256", smap)
    try:
        part.write_at(0, data[: SIZE // 2])
        smap.segments[0].done = SIZE // 2
        part.reached(smap.frontier)
        hashing = part._hash
        assert hashing is not None
        wait_for(lambda: hashing.hashed == SIZE // 2, "the first half hashed")
        part.write_at(SIZE // 2, data[SIZE // 2 :])
        smap.segments[0].done = SIZE
        assert part.hexdigest() == hashlib.sha256(data).hexdigest()
    finally:
        part.discard()


def test_segments_are_spread_on_the_hubs_redirect_and_the_token_stays_on_the_hub(monkeypatch, layout):
    data = big()
    sha = hashlib.sha256(data).hexdigest()
    with LoopbackServer() as cdn, LoopbackServer() as hub:
        resolve = "/datasets/owner/repo/resolve/main/big.bin"
        hub.redirect(
            resolve, cdn.add("/cas/big", data), headers={"X-Linked-Etag": f'"{sha}"', "X-Linked-Size": str(SIZE)}
        )
        monkeypatch.setenv("HF_ENDPOINT", hub.base)
        monkeypatch.setenv("HF_TOKEN", "hf_test_token")
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        got = fetch_source(source("f", "hf://datasets/owner/repo/big.bin"), layout, FAST)
        assert got.path.read_bytes() == data and got.digest == f"sha256:{sha}"
        assert len(ranged(cdn, "/cas/big")) >= 8
        asked = [r for r in hub.requests if r.path == resolve]  # huggingface_hub may ask the Hub other things
        assert len(asked) > 8 and all(r.headers.get("Authorization") == "Bearer hf_test_token" for r in asked)
        assert all("Authorization" not in r.headers for r in cdn.requests)


def test_a_stop_cuts_every_connection_at_once_and_a_rerun_fetches_only_the_rest(server, layout):
    src = source("a", server.add("/a.zip", big()), big())
    hold = Fault(hold_after=64 * 1024, trickle=0.001, trickle_chunk=64 * 1024, repeat=True)
    server.fault("/a.zip", hold)
    thread, errors = in_background(lambda: fetch_source(src, layout, replace(FAST, timeout=120.0)))
    dest = layout.download_path("a", "a.zip")
    try:
        wait_for(lambda: sum(r.sent >= 64 * 1024 for r in server.gets("/a.zip")) >= 2, "two connections held")
        CANCEL.cancel()
        thread.join(20)  # the read timeout is 120 s: only hanging every connection up ends it this soon
        assert not thread.is_alive(), "the stop waited for a stalled read"
    finally:
        CANCEL.clear()
        server.faults.pop("/a.zip")
        hold.resume.set()
        thread.join(60)
    assert len(errors) == 1 and isinstance(errors[0], Cancelled)
    kept = load(dest, part_path(dest).stat().st_size)
    assert kept is not None and kept.written >= 64 * 1024
    asked = len(server.gets("/a.zip"))
    assert fetch_source(src, layout, FAST).path.read_bytes() == big()
    assert server.sent_to(server.gets("/a.zip")[asked:]) == SIZE - kept.written


def test_a_file_of_unknown_size_is_spread_once_its_answer_tells_the_size(server, layout):
    src = source("a", server.add("/a.zip", big()), big(), size=False)  # the plain GET's Content-Length tells
    server.rate = 4 * MiB
    server.gather(2, timeout=30)
    got = fetch_source(src, layout, FAST)
    assert got.path.read_bytes() == big()
    assert server.ranges("/a.zip")[0] is None  # the first answer goes on as the first connection's
    assert len(ranged(server, "/a.zip")) > 1 and server.max_active_all > 1
    assert sent(server, "/a.zip") < 1.1 * SIZE


def test_a_map_of_another_size_means_the_part_is_downloaded_again(server, layout):
    src = source("a", server.add("/a.zip", big()), big())
    dest = layout.download_path("a", "a.zip")
    dest.parent.mkdir(parents=True)
    part_path(dest).write_bytes(big()[:MiB])
    SpreadPart(dest, None, SegmentMap(SIZE + 1, None, [Segment(0, SIZE + 1, MiB)])).abandon()  # an older catalog's
    got = fetch_source(src, layout, FAST)
    assert got.how == "downloaded" and got.path.read_bytes() == big()
    assert sent(server, "/a.zip") == SIZE


def test_a_server_that_never_honours_range_gives_the_file_over_one_connection(server, layout):
    src = source("a", server.add("/a.zip", big()), big(), checksum=None)  # Accept-Ranges: bytes, and a lie
    server.fault("/a.zip", Fault(ignore_range=True, repeat=True))
    got = fetch_source(src, layout, FAST)
    assert got.path.read_bytes() == big()
    assert {r.status for r in server.gets("/a.zip")} == {200}
    assert sent(server, "/a.zip") < 3 * SIZE  # the first answer, what spread tries cost before they were cut, one more


def test_no_connection_joins_one_that_brings_enough(server, layout):
    src = source("a", server.add("/a.zip", big()), big())
    server.rate = 4 * MiB
    got = fetch_source(src, layout, replace(FAST, split=Split(enough=0)))  # any rate is enough: a local mirror's
    assert got.path.read_bytes() == big()
    assert server.max_active_all == 1
    assert len(ranged(server, "/a.zip")) == 8  # still pieces, each resumable from the map


def spans(server: LoopbackServer, path: str) -> list[tuple[int, int]]:
    """The byte ranges the GETs of ``path`` asked for (a GET without Range: the whole file)."""
    out = []
    for r in server.gets(path):
        first, _, last = (r.headers.get("Range") or f"bytes=0-{SIZE - 1}").removeprefix("bytes=").partition("-")
        out.append((int(first), int(last) + 1 if last else SIZE))
    return out


def split_inside(asked: list[tuple[int, int]]) -> bool:
    """Whether a GET asked for bytes from the middle of another GET's range: a segment was split."""
    return any(a < b[0] < a_end for a, a_end in asked for b in asked if b[0] != a)


@pytest.mark.parametrize(("latency", "split"), [(0.0, True), (0.1, False)])
def test_the_tail_is_split_only_where_the_new_request_pays_for_itself(server, layout, latency, split):
    # connection 1's first piece (1 MiB) trickles in at 320 KiB/s; connection 0 fetches the other 7 MiB and then
    # finds over half of that piece left. On a near server it takes the second half. Where each answer waits
    # 0.1 s, a connection receives ~0.3 MiB while a request waits: only a rest over ~1.2 MiB is worth splitting
    # (the half taken would otherwise end after the whole), so the piece is left to its connection.
    src = source("a", server.add("/a.zip", big()), big())
    server.rate, server.latency = 16 * MiB, latency
    server.fault("/a.zip", Fault(), Fault(trickle=0.05, trickle_chunk=16 * 1024))
    options = replace(FAST, connections=2, split=Split(min_segment=128 * 1024))
    got = fetch_source(src, layout, options)
    assert got.path.read_bytes() == big()
    assert split_inside(spans(server, "/a.zip")) is split
    assert sent(server, "/a.zip") <= SIZE + 256 * 1024  # the trickling answer cut short where it was split
