"""Archive attacks are refused with the archive and member named, and nothing is written anywhere."""

from __future__ import annotations

import stat
import tarfile
from pathlib import Path

import pytest

from llavamix.extract import extract_source, is_extracted
from llavamix.foundation.errors import UnsafeArchiveError
from llavamix.foundation.layout import Layout
from tests.extract.conftest import everything, make_tar, make_zip, source, tar_file, tar_special

GOOD = {"images/0.jpg": b"fine", "images/1.jpg": b"fine too"}  # listed first: refusal must still write nothing


def refused(tmp_path: Path, layout: Layout, archive: Path, kind: str, member: str) -> None:
    before = everything(tmp_path)
    with pytest.raises(UnsafeArchiveError) as err:
        extract_source(source("evil", archive=kind), archive, layout)
    assert str(archive) in str(err.value) and repr(member) in str(err.value)
    # a gzipped tar is judged while it is staged: only the (emptied) staging folder's parents may appear
    allowed = {"data", "data/.llavamix", "data/.llavamix/staging"} if kind == "tar.gz" else set()
    assert everything(tmp_path) - before <= allowed
    assert not is_extracted(source("evil", archive=kind), layout)
    assert archive.exists()


@pytest.mark.parametrize(
    ("member", "why"),
    [
        ("../x.jpg", "'..'"),
        ("images/../../x.jpg", "'..'"),
        ("/etc/x", "absolute"),
        ("C:/Windows/x.jpg", "drive letter"),
        ("images\\..\\..\\x.jpg", "backslash"),
    ],
)
def test_zip_paths_that_escape(tmp_path: Path, layout: Layout, downloads: Path, member: str, why: str) -> None:
    archive = make_zip(downloads / "evil.zip", {**GOOD, member: b"pwned"})
    refused(tmp_path, layout, archive, "zip", member)
    assert not (tmp_path / "x.jpg").exists() and not (layout.root / "x.jpg").exists()
    with pytest.raises(UnsafeArchiveError, match=why):
        extract_source(source("evil"), archive, layout)


@pytest.mark.parametrize(
    ("mode", "why"),
    [
        (stat.S_IFLNK | 0o777, "symbolic link"),
        (stat.S_IFCHR | 0o644, "device file"),
        (stat.S_IFIFO | 0o644, "fifo"),
    ],
)
def test_zip_special_members(tmp_path: Path, layout: Layout, downloads: Path, mode: int, why: str) -> None:
    archive = make_zip(downloads / "evil.zip", {**GOOD, "images/link": b"/etc/passwd"}, {"images/link": mode})
    refused(tmp_path, layout, archive, "zip", "images/link")
    with pytest.raises(UnsafeArchiveError, match=why):
        extract_source(source("evil"), archive, layout)


TAR_ATTACKS = [
    ("symlink escape", tar_special("images/link", tarfile.SYMTYPE, "../../../etc/passwd"), "symbolic link"),
    ("symlink inside", tar_special("images/link", tarfile.SYMTYPE, "0.jpg"), "symbolic link"),
    ("hardlink escape", tar_special("images/hard", tarfile.LNKTYPE, "/etc/passwd"), "hard link"),
    ("char device", tar_special("images/dev", tarfile.CHRTYPE), "device file"),
    ("block device", tar_special("images/dev", tarfile.BLKTYPE), "device file"),
    ("fifo", tar_special("images/dev", tarfile.FIFOTYPE), "fifo"),
    ("zip slip", tar_file("../../x.jpg", b"pwned"), "'..'"),
    ("absolute", tar_file("/etc/x", b"pwned"), "absolute"),
]


@pytest.mark.parametrize("kind", ["tar", "tar.gz"])
@pytest.mark.parametrize(("label", "entry", "why"), TAR_ATTACKS, ids=[a[0] for a in TAR_ATTACKS])
def test_tar_attacks(
    tmp_path: Path, layout: Layout, downloads: Path, kind: str, label: str, entry: tuple, why: str
) -> None:
    entries = [tar_file(n, d) for n, d in GOOD.items()] + [entry]
    archive = make_tar(downloads / f"evil.{kind}", entries, "w:gz" if kind == "tar.gz" else "w")
    refused(tmp_path, layout, archive, kind, entry[0].name)
    with pytest.raises(UnsafeArchiveError, match=why):
        extract_source(source("evil", archive=kind), archive, layout)
    assert not layout.staging("evil").exists()


def test_tar_link_then_write_through_it_is_refused_before_any_write(
    tmp_path: Path, layout: Layout, downloads: Path
) -> None:
    """The classic two-step: a symlink to outside, then a file written 'into' it."""
    outside = tmp_path / "outside"
    outside.mkdir()
    entries = [tar_special("images/esc", tarfile.SYMTYPE, str(outside)), tar_file("images/esc/pwned.txt", b"x")]
    archive = make_tar(downloads / "evil.tar", entries)
    with pytest.raises(UnsafeArchiveError, match="images/esc"):
        extract_source(source("evil", archive="tar"), archive, layout)
    assert list(outside.iterdir()) == []
