"""Catalog values that become paths stay inside their base: refused when the catalog loads, naming the value, and
refused again by the layout where they are joined (a value that slips past the catalog still cannot escape)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from llavamix.catalog import load_catalog
from llavamix.foundation.errors import ConfigError, UnsafePathError
from llavamix.foundation.layout import Layout
from tests.catalog.test_schema import source_toml, write


@pytest.mark.parametrize(
    ("keys", "expected"),
    [
        ({"name": "../../x"}, r"name '../../x' must be one name"),
        ({"name": ".."}, r"name '..' is not a file name"),
        ({"filename": "../../x"}, r"filename '../../x' must be one name"),
        ({"filename": "/abs/x.zip"}, r"filename '/abs/x.zip' must be one name"),
        ({"url": "https://example.org/.."}, r"url 'https://example.org/..' ends in '..', which is no file name"),
        ({"into": "../x"}, r"into '../x' climbs out of its folder"),
        ({"into": "/abs"}, r"into '/abs' is an absolute path"),
        ({"into": ""}, r"into '' is empty"),
        ({"into": "a/../b"}, r"into 'a/../b' contains '..'"),
        ({"strip": "../x/"}, r"strip '../x/' climbs out of its folder"),
        ({"strip": "/data/"}, r"strip '/data/' is an absolute path"),
    ],
)
def test_values_that_leave_their_folder_are_refused_at_load(
    tmp_path: Path, keys: dict[str, object], expected: str
) -> None:
    path = write(tmp_path, source_toml(**keys))
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(path))}: source '[^\n]*': {expected}"):
        load_catalog(path)


@pytest.mark.parametrize(
    ("keys", "named"),
    [
        ({"name": "../../../../escaped"}, "'../../../../escaped'"),
        ({"filename": "../../../../escaped.bin"}, "'../../../../escaped.bin'"),
    ],
)
def test_fetch_and_prepare_create_nothing_outside_the_root(tmp_path: Path, keys: dict[str, object], named: str) -> None:
    """A real run with an escaping catalog: exit 1 naming the value, and the tree outside the root untouched."""
    work = tmp_path / "work"
    (work / "files").mkdir(parents=True)
    (work / "files" / "payload.bin").write_bytes(b"payload")
    catalog = write(work, source_toml(url="file:files/payload.bin", archive="none", **keys))
    root = work / "a" / "b" / "data"
    root.mkdir(parents=True)
    before = sorted(tmp_path.rglob("*"))
    for command in ("fetch", "prepare"):
        args = [sys.executable, "-m", "llavamix", command, "--catalog", str(catalog), "--root", str(root)]
        proc = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert named in proc.stdout + proc.stderr
        assert "Traceback" not in proc.stderr
    assert [p for p in sorted(tmp_path.rglob("*")) if root not in p.parents] == before


@pytest.mark.parametrize(
    ("join", "expected"),
    [
        (lambda lay: lay.download_path("../../x", "a.zip"), r"source name '../../x' must be one name"),
        (lambda lay: lay.download_path("a", "../../x"), r"file name '../../x' must be one name"),
        (lambda lay: lay.download_path("a", "/etc/x"), r"file name '/etc/x' must be one name"),
        (lambda lay: lay.download_path("a", ".."), r"file name '..' is not a file name"),
        (lambda lay: lay.target("../x"), r"into '../x' climbs out"),
        (lambda lay: lay.target("/abs"), r"into '/abs' is an absolute path"),
        (lambda lay: lay.marker("../../x", "fetch"), r"source name '../../x' must be one name"),
        (lambda lay: lay.staging(".."), r"source name '..' is not a file name"),
        (lambda lay: lay.image("/etc/passwd"), r"image path '/etc/passwd' is an absolute path"),
        (lambda lay: lay.image("coco/../../x.jpg"), r"image path 'coco/../../x.jpg' climbs out"),
    ],
)
def test_layout_refuses_values_that_slip_past_the_catalog(tmp_path: Path, join, expected: str) -> None:
    with pytest.raises(UnsafePathError, match=expected):
        join(Layout(tmp_path / "data"))
