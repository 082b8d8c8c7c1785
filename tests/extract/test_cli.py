"""Extraction refusals as a user meets them: a real ``llavamix prepare`` process names the problem and what to do,
finishes with exit 3, and writes nothing under the source's folder."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

from tests.extract.conftest import blob, make_zip
from tests.fs import SmallDisk


def prepare(tmp_path: Path, archive: Path, root: Path) -> subprocess.CompletedProcess[str]:
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(f'[[source]]\nname = "s"\nurl = "file:{archive.name}"\narchive = "zip"\ninto = "out"\n')
    cmd = [sys.executable, "-m", "llavamix", "prepare", "s", "--root", str(root), "--catalog", str(catalog)]
    cmd += ["--downloads", str(tmp_path / "downloads")]
    return subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"}, timeout=120)


def test_prepare_refuses_an_archive_with_colliding_members(tmp_path: Path) -> None:
    archive = tmp_path / "s.zip"
    with warnings.catch_warnings(), zipfile.ZipFile(archive, "w") as zf:
        warnings.simplefilter("ignore")  # zipfile warns about the repeated name, and writes it
        zf.writestr("a/1.jpg", blob("first"))
        zf.writestr("a/1.jpg", blob("second"))
    proc = prepare(tmp_path, archive, tmp_path / "data")
    output = proc.stdout + proc.stderr
    assert proc.returncode == 3, output
    assert "1 member collision(s), e.g. 'a/1.jpg' and 'a/1.jpg' both land at 'a/1.jpg'" in output
    assert "nothing was extracted" in output
    assert not (tmp_path / "data/out").exists()
    assert (tmp_path / "downloads/s/s.zip").exists()  # kept for the user to inspect


def test_prepare_on_a_small_disk_says_what_to_free(small_disk: SmallDisk, tmp_path: Path) -> None:
    root = small_disk("4m", 10_000) / "data"
    archive = make_zip(tmp_path / "s.zip", {f"d/{i}.jpg": blob(str(i), 200) for i in range(2000)})
    proc = prepare(tmp_path, archive, root)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 3, output
    assert f"extracting s.zip needs 7.9 MiB under {root / 'out'} (2,0" in output
    assert re.search(r"but only 4\.0 MiB \(1,02\d blocks\) is free there: free up [34]\.\d MiB", output), output
    assert not (root / "out").exists()
