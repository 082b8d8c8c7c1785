"""The mirror zip's layout, detected from its member names: three known forms, any extension; others refused."""

from __future__ import annotations

import zipfile
from pathlib import Path, PurePosixPath

import pytest

from llavamix.extract.archives import open_reader
from llavamix.extract.mirror import mirror_plan
from llavamix.foundation.errors import ArchiveLayoutError


def planned(tmp_path: Path, names: list[str]) -> list[tuple[str, str]]:
    archive = tmp_path / "mirror.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for name in names:
            zf.writestr(name, b"x")
    with open_reader(archive, "zip") as reader:
        return [(m.name, str(rel)) for m, rel in mirror_plan(archive, reader.members())]


@pytest.mark.parametrize("folder", ["ocr_vqa/images/", "images/", ""])
def test_each_known_layout_lands_keys_as_jpg(tmp_path: Path, folder: str) -> None:
    names = [f"{folder}0001.jpg", f"{folder}0002.gif", f"{folder}0003.PNG", "__MACOSX/._0001.jpg"]
    assert planned(tmp_path, names) == [(n, f"{PurePosixPath(n).stem}.jpg") for n in names[:3]]


@pytest.mark.parametrize(
    "names",
    [["books/covers/0001.jpg", "books/covers/0002.jpg"], ["images/0001.jpg", "0002.jpg"], ["images/a/0001.jpg"]],
)
def test_another_layout_is_refused_naming_members(tmp_path: Path, names: list[str]) -> None:
    with pytest.raises(ArchiveLayoutError, match=rf"e\.g\. '{names[0]}'.*--no-mirror"):
        planned(tmp_path, names)
