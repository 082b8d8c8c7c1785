"""hf:// sources against a loopback imitation of the Hub: a resolve endpoint redirecting to a "CDN" server."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import pytest

from llavamix.fetch import fetch_source
from llavamix.fetch.hub import parse
from llavamix.foundation.errors import ChecksumError, ConfigError, FetchError
from tests.fetch.conftest import FAST, payload, source
from tests.httpserver import Fault, LoopbackServer

DATA = payload(150_000, seed=2)
SHA = hashlib.sha256(DATA).hexdigest()
RESOLVE = "/datasets/owner/repo/resolve/main/dir/file.bin"


@pytest.fixture
def cdn() -> Iterator[LoopbackServer]:
    with LoopbackServer() as srv:
        yield srv


@pytest.fixture
def hub(monkeypatch, cdn) -> Iterator[LoopbackServer]:
    """The Hub's resolve endpoint as it answers for an LFS file: a redirect carrying the file's metadata."""
    with LoopbackServer() as srv:
        location = cdn.add("/cas/abc123", DATA)
        srv.redirect(
            RESOLVE,
            location,
            headers={
                "X-Linked-Etag": f'"{SHA}"',
                "X-Linked-Size": str(len(DATA)),
                "X-Repo-Commit": "0123456789abcdef0123456789abcdef01234567",
                "ETag": '"a1b2c3"',
            },
        )
        monkeypatch.setenv("HF_ENDPOINT", srv.base)
        monkeypatch.setenv("HF_TOKEN", "hf_test_token")
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        yield srv


def test_hub_file_is_checked_against_its_lfs_sha256(hub, cdn, layout):
    got = fetch_source(source("f", "hf://datasets/owner/repo/dir/file.bin"), layout, FAST)
    assert got.path == layout.download_path("f", "file.bin")
    assert got.path.read_bytes() == DATA
    assert got.digest == f"sha256:{SHA}"
    assert [r.method for r in hub.requests] == ["HEAD", "GET"]


def test_token_goes_to_the_hub_but_not_to_the_cdn(hub, cdn, layout):
    fetch_source(source("f", "hf://datasets/owner/repo/dir/file.bin"), layout, FAST)
    assert all(r.headers.get("Authorization") == "Bearer hf_test_token" for r in hub.requests)
    assert all("Authorization" not in r.headers for r in cdn.requests)


def test_hub_download_resumes_through_the_redirect(hub, cdn, layout):
    cdn.fault("/cas/abc123", Fault(drop_after=60_000))
    got = fetch_source(source("f", "hf://datasets/owner/repo/dir/file.bin"), layout, FAST)
    assert got.path.read_bytes() == DATA
    assert cdn.ranges("/cas/abc123") == [None, "bytes=60000-"]
    assert cdn.bytes_served["/cas/abc123"] == len(DATA)


def test_wrong_bytes_from_the_cdn_fail_against_the_hub_sha256(hub, cdn, layout):
    cdn.fault("/cas/abc123", Fault(corrupt=True, repeat=True))
    with pytest.raises(ChecksumError, match=f"where {SHA} was expected"):
        fetch_source(source("f", "hf://datasets/owner/repo/dir/file.bin"), layout, FAST)


def test_catalog_checksum_wins_over_the_hub(hub, cdn, layout):
    src = source("f", "hf://datasets/owner/repo/dir/file.bin", DATA, checksum="md5")
    assert fetch_source(src, layout, FAST).digest == f"md5:{src.md5}"


def test_missing_hub_file_is_a_clear_error(hub, layout):
    with pytest.raises(FetchError, match=r"owner/repo/resolve/main/dir/other\.bin"):
        fetch_source(source("f", "hf://datasets/owner/repo/dir/other.bin"), layout, FAST)


def test_revision_in_the_url(hub, cdn, layout):
    hub.redirect(
        "/datasets/owner/repo/resolve/v1.0/dir/file.bin",
        cdn.url("/cas/abc123"),
        headers={"X-Linked-Etag": f'"{SHA}"', "X-Linked-Size": str(len(DATA))},
    )
    got = fetch_source(source("f", "hf://datasets/owner/repo@v1.0/dir/file.bin"), layout, FAST)
    assert got.path.read_bytes() == DATA


def test_parse():
    assert parse("hf://datasets/o/r/a/b.zip") == ("o/r", None, "a/b.zip")
    assert parse("hf://datasets/o/r@main/x.json") == ("o/r", "main", "x.json")
    with pytest.raises(ConfigError, match="hf://datasets/<owner>/<repo>/<path>"):
        parse("hf://datasets/o/r")
