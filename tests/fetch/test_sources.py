"""fetch_source / fetch_sources: markers, present and adopted files, failures isolated, per-host caps, schemes."""

from __future__ import annotations

import json

import msgspec
import pytest

from llavamix.fetch import FetchOptions, fetch_source, fetch_sources, is_fetched
from llavamix.foundation.errors import ChecksumError, FetchError
from llavamix.foundation.io import part_path
from tests.fetch.conftest import FAST, leftovers, payload, source
from tests.httpserver import Fault

DATA = payload(200_000, seed=1)


def test_present_file_is_not_fetched_again(server, layout):
    src = source("a", server.add("/a.zip", DATA), DATA)
    first = fetch_source(src, layout, FAST)
    again = fetch_source(src, layout, FAST)
    assert again.how == "present"
    assert again.digest == first.digest
    assert len(server.gets("/a.zip")) == 1
    assert is_fetched(src, layout)


def test_marker_is_json_with_size_and_digest(server, layout):
    src = source("a", server.add("/a.zip", DATA), DATA, checksum="sha256")
    fetch_source(src, layout, FAST)
    marker = json.loads(layout.marker("a", "fetch").read_text())
    assert marker["size"] == len(DATA)
    assert marker["digest"] == f"sha256:{src.sha256}"


def test_a_marker_of_the_previous_release_still_counts(server, layout):
    """Earlier releases wrote the marker with ``json.dumps``: such a fetch is still done, not downloaded again."""
    src = source("a", server.add("/a.zip", DATA), DATA, checksum="sha256")
    fetch_source(src, layout, FAST)
    old = {"file": "a.zip", "size": len(DATA), "digest": f"sha256:{src.sha256}", "how": "downloaded"}
    layout.marker("a", "fetch").write_text(json.dumps(old) + "\n")
    again = fetch_source(src, layout, FAST)
    assert (again.how, again.digest) == ("present", f"sha256:{src.sha256}")
    assert len(server.gets("/a.zip")) == 1


def test_an_unreadable_marker_means_fetch_again(server, layout):
    src = source("a", server.add("/a.zip", DATA), DATA)
    fetch_source(src, layout, FAST)
    layout.marker("a", "fetch").write_text('{"file": "a.zip", "si')
    assert not is_fetched(src, layout)
    assert fetch_source(src, layout, FAST).how == "adopted"  # the file is checked again, not downloaded


def test_not_fetched_without_marker_or_with_a_changed_file(server, layout):
    src = source("a", server.add("/a.zip", DATA), DATA)
    assert not is_fetched(src, layout)
    fetch_source(src, layout, FAST)
    layout.download_path("a", "a.zip").write_bytes(b"truncated")
    assert not is_fetched(src, layout)


def test_hand_placed_file_is_adopted_after_its_checksum_passes(server, layout):
    src = source("a", server.add("/a.zip", DATA), DATA)
    dest = layout.download_path("a", "a.zip")
    dest.parent.mkdir(parents=True)
    dest.write_bytes(DATA)
    got = fetch_source(src, layout, FAST)
    assert got.how == "adopted"
    assert got.digest == f"md5:{src.md5}"
    assert server.requests == []
    assert is_fetched(src, layout)


def test_hand_placed_wrong_file_is_set_aside_not_deleted(server, layout):
    src = source("a", server.add("/a.zip", DATA), DATA)
    dest = layout.download_path("a", "a.zip")
    dest.parent.mkdir(parents=True)
    wrong = DATA[::-1]
    dest.write_bytes(wrong)
    with pytest.raises(ChecksumError, match=r"already there but has md5 \w+ where .* moved it to .*a\.zip\.rejected"):
        fetch_source(src, layout, FAST)
    assert dest.with_name("a.zip.rejected").read_bytes() == wrong
    assert not layout.marker("a", "fetch").exists()
    assert fetch_source(src, layout, FAST).how == "downloaded"  # the rerun the message suggests


def test_one_failure_does_not_stop_the_others(server, layout):
    good = [source(n, server.add(f"/{n}.zip", payload(50_000, i)), payload(50_000, i)) for i, n in enumerate("bcd")]
    missing = source("gone", server.url("/gone.zip"))
    report = fetch_sources([missing, *good], layout, FetchOptions(jobs=2, backoff=0.01))
    assert sorted(f.source for f in report.fetched) == ["b", "c", "d"]
    assert list(report.failed) == ["gone"]
    assert isinstance(report.failed["gone"], FetchError)  # the failure itself, not a string of it
    assert "answered 404" in str(report.failed["gone"])
    assert str(layout.download_path("gone", "gone.zip")) in str(report.failed["gone"])
    assert not report.ok


@pytest.mark.parametrize("cap", [1, 2])
def test_per_host_cap_is_honoured(server, layout, cap):
    data = payload(20_000)
    sources = [source(f"s{i}", server.add(f"/s{i}.zip", data), data) for i in range(4)]
    for i in range(4):
        server.fault(f"/s{i}.zip", Fault(trickle=0.01, trickle_chunk=4_000))
    server.gather(cap, timeout=10)  # answers wait for ``cap`` requests in flight: the overlap never hangs on timing
    report = fetch_sources(sources, layout, FetchOptions(jobs=4), host_caps={"127.0.0.1": cap})
    assert report.ok
    assert server.max_active_all == cap


def test_default_host_cap_applies_to_hosts_not_in_the_catalog(server, layout):
    data = payload(20_000)
    sources = [source(f"s{i}", server.add(f"/s{i}.zip", data), data) for i in range(3)]
    for i in range(3):
        server.fault(f"/s{i}.zip", Fault(trickle=0.01, trickle_chunk=4_000))
    report = fetch_sources(sources, layout, FetchOptions(jobs=3, host_connections=1), host_caps={"elsewhere": 3})
    assert report.ok
    assert server.max_active_all == 1


def test_rerun_after_a_failed_run_resumes_the_partial_file(server, layout):
    src = source("a", server.add("/a.zip", DATA), DATA)
    server.fault("/a.zip", Fault(drop_after=120_000), Fault(status=503, repeat=True))
    with pytest.raises(FetchError, match="rerun to resume"):
        fetch_source(src, layout, FetchOptions(retries=0))
    assert part_path(layout.download_path("a", "a.zip")).stat().st_size == 120_000
    server.faults.clear()
    got = fetch_source(src, layout, FAST)
    assert got.how == "resumed"
    assert got.path.read_bytes() == DATA
    assert server.bytes_served["/a.zip"] == len(DATA)
    assert leftovers(layout) == []


def test_file_url_is_copied_and_verified(tmp_path, layout):
    mirror = tmp_path / "mirror" / "a b.zip"
    mirror.parent.mkdir()
    mirror.write_bytes(DATA)
    src = source("a", mirror.as_uri(), DATA)
    got = fetch_source(src, layout, FAST)
    assert got.how == "downloaded"
    assert got.path.name == "a b.zip"
    assert got.path.read_bytes() == DATA
    assert fetch_source(src, layout, FAST).how == "present"


def test_file_url_resumes_a_partial_copy(tmp_path, layout):
    mirror = tmp_path / "a.zip"
    mirror.write_bytes(DATA)
    src = source("a", mirror.as_uri(), DATA)
    dest = layout.download_path("a", "a.zip")
    dest.parent.mkdir(parents=True)
    part_path(dest).write_bytes(DATA[:1000])
    got = fetch_source(src, layout, FAST)
    assert (got.how, got.path.read_bytes()) == ("resumed", DATA)


def test_missing_local_file_says_where_to_put_one(tmp_path, layout):
    src = source("a", (tmp_path / "nope.zip").as_uri())
    with pytest.raises(FetchError, match=r"cannot read .*nope\.zip.*put it at"):
        fetch_source(src, layout, FAST)


def test_each_source_goes_through_the_hook_with_the_runs_one_limiter(server, layout):
    """The composition layer's recipes fetch through ``fetch_one``; its failures are isolated like the file's."""
    srcs = [source(n, server.add(f"/{n}.zip", payload(1000, i)), payload(1000, i)) for i, n in enumerate("ab")]
    limiters = set()

    def fetch_one(src, limiter):
        limiters.add(id(limiter))
        if src.name == "b":
            raise FetchError("b: the hook refused it; fix the hook")
        return fetch_source(src, layout, FAST, limiter=limiter)

    report = fetch_sources(srcs, layout, FAST, fetch_one=fetch_one)
    assert [f.source for f in report.fetched] == ["a"] and list(report.failed) == ["b"]
    failure = report.failed["b"]
    assert isinstance(failure, FetchError) and str(failure) == "b: the hook refused it; fix the hook"
    assert len(limiters) == 1
    assert [r.path for r in server.requests] == ["/a.zip"]


def test_an_image_index_is_fetched_as_a_file_and_nothing_more(server, layout):
    """Crawling the images an index lists is the OCR-VQA recipe's hook, not something the stage does by kind."""
    index = json.dumps({"k": {"imageURL": "images/k.jpg"}}).encode()
    src = source("ocr_vqa", server.add("/ocr/dataset.json", index), index)
    src = msgspec.structs.replace(src, kind="ocrvqa", into="ocr_vqa/images")
    got = fetch_source(src, layout, FAST)
    assert got.crawl is None and got.path.read_bytes() == index
    assert [r.path for r in server.requests] == ["/ocr/dataset.json"]
    assert not (layout.root / "ocr_vqa").exists()
