"""Member collisions: an archive in which two members land on one path, or a member lands on the temporary name
of another, is refused before anything is written, naming the members."""

from __future__ import annotations

import re
import tarfile
import warnings
import zipfile
from pathlib import Path

import pytest

from llavamix.extract import extract_source, is_extracted
from llavamix.foundation.errors import ArchiveLayoutError
from llavamix.foundation.layout import Layout
from tests.extract.conftest import blob, make_tar, source, tar_file, tar_special, tree

Entries = list[tuple[str, bytes | None]]  # in archive order; None makes a folder entry


def build(kind: str, path: Path, entries: Entries) -> Path:
    """An archive holding ``entries`` as listed, repeated names included."""
    if kind != "zip":
        tars = [tar_file(n, d) if d is not None else tar_special(n, tarfile.DIRTYPE) for n, d in entries]
        return make_tar(path, tars, "w:gz" if kind == "tar.gz" else "w")
    with warnings.catch_warnings(), zipfile.ZipFile(path, "w") as zf:
        warnings.simplefilter("ignore")  # zipfile warns about a repeated name, and writes it
        for name, data in entries:
            zf.writestr(name, b"" if data is None else data)
    return path


CASES: dict[str, tuple[Entries, str]] = {
    "duplicate": (
        [("images/a.jpg", blob("first")), ("images/a.jpg", blob("second"))],
        r"'images/a\.jpg' and 'images/a\.jpg' both land at 'a\.jpg'",
    ),
    "double slash": (
        [("images/x//b.jpg", blob("1")), ("images/x/b.jpg", blob("2"))],
        r"'images/x//b\.jpg' and 'images/x/b\.jpg' both land at 'x/b\.jpg'",
    ),
    "dot": (
        [("./images/c.jpg", blob("1")), ("images/c.jpg", blob("2"))],
        r"'\./images/c\.jpg' and 'images/c\.jpg' both land at 'c\.jpg'",
    ),
    "temporary name beside": (
        [("images/x.jpg", blob("x")), ("images/x.jpg.part", blob("p"))],
        r"'images/x\.jpg\.part' lands at 'x\.jpg\.part': names ending in '\.part' are reserved",
    ),
    "temporary name alone": (
        [("images/y.jpg.part", blob("p"))],
        r"'images/y\.jpg\.part' lands at 'y\.jpg\.part'",
    ),
    "folder on a temporary name": (
        [("images/z.jpg", blob("z")), ("images/z.jpg.part/q.jpg", blob("q"))],
        r"'images/z\.jpg\.part/q\.jpg' needs a folder 'z\.jpg\.part', the temporary name of 'images/z\.jpg'",
    ),
    "file where a folder goes": (
        [("images/d", blob("d")), ("images/d/e.jpg", blob("e"))],
        r"'images/d' is a file where 'images/d/e\.jpg' needs a folder",
    ),
}


@pytest.mark.parametrize("kind", ["zip", "tar", "tar.gz"])
@pytest.mark.parametrize("case", CASES)
def test_collisions_are_refused_before_writing(case: str, kind: str, layout: Layout, downloads: Path) -> None:
    entries, named = CASES[case]
    archive = build(kind, downloads / f"s.{kind}", [("images/ok.jpg", blob("ok")), *entries])
    src = source("s", archive=kind, strip="images/")
    with pytest.raises(ArchiveLayoutError, match=named) as err:
        extract_source(src, archive, layout)
    assert re.search(r"member collision\(s\), e\.g\. .*nothing was extracted.*download it again", str(err.value))
    assert not (layout.root / "out").exists()
    assert not layout.staging("s").exists()
    assert not is_extracted(src, layout)
    assert archive.exists()


def test_every_collision_is_counted(layout: Layout, downloads: Path) -> None:
    entries: Entries = [(f"a/{i}.jpg", blob(str(i))) for i in range(8)] * 2
    with pytest.raises(ArchiveLayoutError, match=r"s\.zip: 8 member collision\(s\), e\.g\. 'a/0\.jpg' and 'a/0\.jpg'"):
        extract_source(source("s"), build("zip", downloads / "s.zip", entries), layout)


@pytest.mark.parametrize("kind", ["zip", "tar", "tar.gz"])
def test_a_folder_listed_twice_is_harmless(kind: str, layout: Layout, downloads: Path) -> None:
    entries: Entries = [("images/", None), ("./images/", None), ("images/f/", None), ("images/f/a.jpg", blob("a"))]
    result = extract_source(source("s", archive=kind), build(kind, downloads / f"s.{kind}", entries), layout)
    assert tree(layout.root / "out") == {"images/f/a.jpg": blob("a")}
    assert result.files == 1
