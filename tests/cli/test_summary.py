"""The prepare summary as printed: an archive of many numbered folders is one short cell, not a line per folder."""

from __future__ import annotations

import zipfile
from pathlib import Path

from tests.prepare.conftest import run_cli


def numbered_zip(path: Path, folders: int) -> None:
    with zipfile.ZipFile(path, "w") as zf:
        for i in range(folders):
            zf.writestr(f"{i:05d}/{i:09d}.jpg", b"not decoded by prepare")


def test_a_source_landing_in_many_folders_is_summed_up_in_one_cell(tmp_path: Path) -> None:
    archive = tmp_path / "images.zip"
    numbered_zip(archive, 12)
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(f'[[source]]\nname = "shots"\nurl = "{archive.as_uri()}"\narchive = "zip"\ninto = "shots"\n')
    proc = run_cli("prepare", "shots", "--catalog", catalog, "--root", tmp_path / "data", check=True)
    assert "shots/00000 … shots/00011 (12 folders)" in proc.stdout
    assert "shots/00005" not in proc.stdout
    assert len(list((tmp_path / "data" / "shots").iterdir())) == 12
