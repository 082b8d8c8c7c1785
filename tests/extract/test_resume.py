"""A killed or failed extraction leaves no marker; a rerun finishes it and leaves no temporary file behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from llavamix.extract import extract_source, is_extracted, recipes, write
from llavamix.extract.model import Extracted
from llavamix.layout import Layout
from tests.extract.conftest import blob, make_zip, source, tar_of, tree

MEMBERS: dict[str, bytes | None] = {f"images/{i // 4}/{i}.jpg": blob(str(i), 200 + 50 * i) for i in range(12)}
EXPECTED = {k.removeprefix("images/"): v for k, v in MEMBERS.items() if v is not None}


def test_failure_midway_then_rerun(monkeypatch: pytest.MonkeyPatch, layout: Layout, downloads: Path) -> None:
    archive = make_zip(downloads / "s.zip", MEMBERS)
    src = source("s", strip="images")
    real = write.write_file
    calls = []

    def dies_on_the_sixth(src_fh, dest: Path, size: int) -> None:  # type: ignore[no-untyped-def]
        calls.append(dest)
        if len(calls) == 6:
            raise OSError("disk on fire")
        real(src_fh, dest, size)

    monkeypatch.setattr(write, "write_file", dies_on_the_sixth)
    with pytest.raises(OSError, match="disk on fire"):
        extract_source(src, archive, layout)
    assert not is_extracted(src, layout)
    assert archive.exists()
    assert len(tree(layout.root / "out")) == 5

    monkeypatch.setattr(write, "write_file", real)
    extract_source(src, archive, layout)
    assert tree(layout.root / "out") == EXPECTED
    assert not archive.exists()


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
def test_leftovers_of_a_kill_are_cleaned(kind: str, layout: Layout, downloads: Path) -> None:
    """kill -9 leaves ``.part`` files, a truncated final file never (renames are atomic), and staging."""
    if kind == "zip":
        archive = make_zip(downloads / "s.zip", MEMBERS)
    else:
        archive = tar_of(downloads / "s.tar.gz", MEMBERS, "w:gz")
    target = layout.root / "out"
    (target / "0").mkdir(parents=True)
    (target / "0/1.jpg.part").write_bytes(b"half")
    (target / "2/9.jpg.part").parent.mkdir()
    (target / "2/9.jpg.part").write_bytes(b"")
    (target / "0/0.jpg").write_bytes(b"stale")
    layout.staging("s").mkdir(parents=True)
    (layout.staging("s") / "junk").write_bytes(b"old")
    extract_source(source("s", archive=kind, strip="images/"), archive, layout)
    assert tree(target) == EXPECTED
    assert not list(layout.root.rglob("*.part"))
    assert not layout.staging("s").exists()


def test_marker_is_written_last(monkeypatch: pytest.MonkeyPatch, layout: Layout, downloads: Path) -> None:
    archive = make_zip(downloads / "s.zip", MEMBERS)
    seen: list[dict[str, bytes]] = []
    real = recipes.write_marker

    def spy(lay: Layout, result: Extracted) -> None:
        seen.append(tree(lay.root / "out"))
        assert archive.exists(), "the archive must outlive the marker"
        real(lay, result)

    monkeypatch.setattr(recipes, "write_marker", spy)
    extract_source(source("s", strip="images"), archive, layout)
    assert seen == [EXPECTED]


def test_failed_marker_write_keeps_the_archive(
    monkeypatch: pytest.MonkeyPatch, layout: Layout, downloads: Path
) -> None:
    archive = make_zip(downloads / "s.zip", MEMBERS)

    def broken(lay: Layout, result: Extracted) -> None:
        raise OSError("no space for the marker")

    monkeypatch.setattr(recipes, "write_marker", broken)
    with pytest.raises(OSError):
        extract_source(source("s", strip="images"), archive, layout)
    assert archive.exists()
    assert not is_extracted(source("s"), layout)
