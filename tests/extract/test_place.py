"""Plain-file sources (``archive = "none"``): the mix JSON and the 558K captions land at ROOT/<into>/<file>."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from llavamix.catalog import load_catalog
from llavamix.extract import ExtractOptions, extract_source, read_extracted
from llavamix.foundation.layout import MIX_JSON, Layout
from tests.extract.conftest import source, tree

MIX = b'[{"id": 1, "conversations": []}]'


def test_mix_json_is_moved_into_place(layout: Layout, downloads: Path) -> None:
    src = load_catalog("default")["mix1m"]
    download = downloads / src.file_name
    download.write_bytes(MIX)
    inode = download.stat().st_ino
    result = extract_source(src, download, layout)
    placed = layout.root / MIX_JSON
    assert placed.read_bytes() == MIX
    assert placed.stat().st_ino == inode  # moved, not copied
    assert not download.exists()
    assert (result.files, result.bytes, result.roots) == (1, len(MIX), [MIX_JSON.as_posix()])
    assert read_extracted(src, layout) == result


def test_kept_download_is_copied(layout: Layout, downloads: Path) -> None:
    src = load_catalog("default")["llava-pretrain-json"]
    download = downloads / src.file_name
    download.write_bytes(MIX)
    extract_source(src, download, layout, ExtractOptions(keep_archive=True))
    assert download.read_bytes() == MIX
    assert (layout.root / "llava/llava_pretrain/blip_laion_cc_sbu_558k.json").read_bytes() == MIX
    assert not list(layout.root.rglob("*.part"))


def test_download_already_in_place(tmp_path: Path) -> None:
    """--downloads pointed at the target folder itself: the file stays and is not deleted."""
    root = tmp_path / "data"
    layout = Layout(root, downloads=root)
    src = source("mix", archive="none", kind="mix_json", into="mix", filename="m.json")
    download = layout.download_path("mix", "m.json")
    download.parent.mkdir(parents=True)
    download.write_bytes(MIX)
    result = extract_source(src, download, layout)
    assert download.read_bytes() == MIX
    assert result.roots == ["mix/m.json"]


def test_plain_archive_kind_with_no_archive(layout: Layout, downloads: Path) -> None:
    download = downloads / "notes.txt"
    download.write_bytes(b"hello")
    extract_source(source("notes", archive="none", into="docs", filename="notes.txt"), download, layout)
    files = tree(layout.root)
    files.pop(".llavamix/done/notes.extract")
    assert files == {"docs/notes.txt": b"hello"}


def test_other_filesystem_is_copied(monkeypatch: pytest.MonkeyPatch, layout: Layout, downloads: Path) -> None:
    """Across filesystems a rename fails; the file is copied (atomically) and the download then deleted."""
    download = downloads / "m.json"
    download.write_bytes(MIX)

    def fake_replace(src: object, dst: object) -> None:
        if Path(str(src)) == download:
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        Path(str(src)).rename(str(dst))

    monkeypatch.setattr(os, "replace", fake_replace)
    extract_source(source("mix", archive="none", kind="mix_json", filename="m.json"), download, layout)
    assert (layout.root / "out/m.json").read_bytes() == MIX
    assert not download.exists()
