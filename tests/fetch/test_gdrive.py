"""gdrive:// through a local imitation of Google Drive: confirmation page, quota and sign-in answers, folders via
gdown's listing, Range resume, and the manual route (a file put in place by hand is adopted)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from llavamix.catalog import Source
from llavamix.fetch import fetch_source
from llavamix.fetch.gdrive import DriveRef, parse
from llavamix.foundation.errors import ChecksumError, ConfigError, FetchError
from llavamix.foundation.io import part_path
from llavamix.foundation.layout import Layout
from tests.drive import Drive, DriveProxy, drive_environment, make_certificate
from tests.fetch.conftest import FAST, payload

SAM_ID = "1SamImagesZipFileIdForDriveTests01"
FOLDER_ID = "1WebDataFolderIdForDriveTests0001"
CELEB_ID = "1WebCelebrityZipIdForDriveTests01"
LANDMARK_ID = "1WebLandmarkZipIdForDriveTests001"
BIG = payload(300_000, seed=7)
SMALL = payload(500, seed=8)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    try:
        return make_certificate(tmp_path_factory.mktemp("drive-tls"))
    except FileNotFoundError as exc:
        pytest.skip(str(exc))


@pytest.fixture
def drive(certificate: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> Iterator[Drive]:
    drive = Drive()
    drive.add(SAM_ID, "sam_images_share-sft.zip", BIG)
    drive.add(CELEB_ID, "web-celebrity.zip", SMALL)
    drive.add(LANDMARK_ID, "web-landmark.zip", BIG)
    drive.folders[FOLDER_ID] = ("WebData", [CELEB_ID, LANDMARK_ID])
    with DriveProxy(drive, *certificate) as proxy:
        for k, v in drive_environment(proxy, certificate[0]).items():
            monkeypatch.setenv(k, v)
        yield drive


def drive_source(url: str, filename: str, data: bytes | None = None) -> Source:
    checks: dict[str, object] = {}
    if data is not None:
        checks = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    return Source(name="sam", url=url, into="sam/images", filename=filename, archive="zip", **checks)


def test_a_large_file_goes_through_the_confirmation_page(drive: Drive, layout: Layout) -> None:
    src = drive_source(f"gdrive://{SAM_ID}", "sam_images_share-sft.zip", BIG)
    got = fetch_source(src, layout, FAST)
    assert got.path.read_bytes() == BIG
    assert got.digest == f"sha256:{src.sha256}"
    asked = [s.query.get("confirm") for s in drive.downloads(SAM_ID)]
    assert asked == [None, "t"], "first the warning page, then the confirmed download"


def test_a_small_file_comes_straight_away(drive: Drive, layout: Layout) -> None:
    src = drive_source(f"gdrive://{CELEB_ID}", "web-celebrity.zip", SMALL)
    assert fetch_source(src, layout, FAST).path.read_bytes() == SMALL
    assert len(drive.downloads(CELEB_ID)) == 1


def test_a_partial_download_resumes_with_range(drive: Drive, layout: Layout) -> None:
    src = drive_source(f"gdrive://{SAM_ID}", "sam_images_share-sft.zip", BIG)
    dest = layout.download_path("sam", "sam_images_share-sft.zip")
    dest.parent.mkdir(parents=True)
    part_path(dest).write_bytes(BIG[:120_000])
    got = fetch_source(src, layout, FAST)
    assert (got.how, got.path.read_bytes()) == ("resumed", BIG)
    assert drive.downloads(SAM_ID)[-1].range == "bytes=120000-"


def test_quota_names_the_file_and_the_manual_route_then_adopts_it(drive: Drive, layout: Layout) -> None:
    drive.quota.add(SAM_ID)
    src = drive_source(f"gdrive://{SAM_ID}", "sam_images_share-sft.zip", BIG)
    dest = layout.download_path("sam", "sam_images_share-sft.zip")
    with pytest.raises(FetchError) as info:
        fetch_source(src, layout, FAST)
    message = str(info.value)
    for needle in ("sam_images_share-sft.zip", "too many users", "24 hours", DriveRef(SAM_ID, False).page, str(dest)):
        assert needle in message
    assert len(drive.downloads(SAM_ID)) == 1, "a quota answer is not retried"
    assert not part_path(dest).exists()

    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(BIG)  # what the user downloaded in a browser
    asked = len(drive.seen)
    got = fetch_source(src, layout, FAST)
    assert got.how == "adopted" and got.digest == f"sha256:{src.sha256}"
    assert len(drive.seen) == asked, "adopting asks nothing of Drive"


def test_a_wrong_hand_placed_file_is_set_aside(drive: Drive, layout: Layout) -> None:
    src = drive_source(f"gdrive://{SAM_ID}", "sam_images_share-sft.zip", BIG)
    dest = layout.download_path("sam", "sam_images_share-sft.zip")
    dest.parent.mkdir(parents=True)
    dest.write_bytes(BIG[:-1] + b"x")
    with pytest.raises(ChecksumError, match="moved it to"):
        fetch_source(src, layout, FAST)
    assert fetch_source(src, layout, FAST).path.read_bytes() == BIG


def test_a_file_that_is_not_shared_says_so(drive: Drive, layout: Layout) -> None:
    drive.files[SAM_ID].shared = False
    src = drive_source(f"gdrive://{SAM_ID}", "sam_images_share-sft.zip")
    with pytest.raises(FetchError, match="Anyone with the link") as info:
        fetch_source(src, layout, FAST)
    assert "sam_images_share-sft.zip" in str(info.value)


def test_an_unknown_file_says_the_link_moved(drive: Drive, layout: Layout) -> None:
    src = drive_source("gdrive://1NoSuchFileIdOnThisDriveAtAll01", "gone.zip")
    with pytest.raises(FetchError, match="no such file"):
        fetch_source(src, layout, FAST)


def test_a_folder_member_is_found_through_gdowns_listing(drive: Drive, layout: Layout) -> None:
    src = drive_source(f"gdrive://folders/{FOLDER_ID}", "web-landmark.zip", BIG)
    assert fetch_source(src, layout, FAST).path.read_bytes() == BIG
    assert any(s.path == "/embeddedfolderview" and s.query["id"] == FOLDER_ID for s in drive.seen)
    assert drive.downloads(CELEB_ID) == []


def test_a_folder_without_the_file_lists_what_it_holds(drive: Drive, layout: Layout) -> None:
    src = drive_source(f"gdrive://folders/{FOLDER_ID}", "wikiart.zip")
    with pytest.raises(FetchError, match=r"no file named 'wikiart.zip'.*web-celebrity.zip, web-landmark.zip"):
        fetch_source(src, layout, FAST)


def test_drive_links_parse() -> None:
    assert parse(f"gdrive://{SAM_ID}") == DriveRef(SAM_ID, False)
    assert parse(f"gdrive://folders/{FOLDER_ID}/") == DriveRef(FOLDER_ID, True)
    assert DriveRef(FOLDER_ID, True).page == f"https://drive.google.com/drive/folders/{FOLDER_ID}"
    with pytest.raises(ConfigError, match="gdrive://<file-id>"):
        parse("gdrive://folders/")
