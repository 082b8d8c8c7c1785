"""Which index browse reads: one built on the fly (in the cache, never under the root) when the mix has none, the
one beside the mix when it is that mix's, and a cache inside the root refused."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from llavamix.browse import BrowseOptions, open_browser, plan_index
from llavamix.foundation.errors import ConfigError
from llavamix.index import build_index
from tests.browse.conftest import make_site, serving


def tree(folder: Path) -> dict[str, tuple[int, int]]:
    """Every path under ``folder`` (links not followed) with its size and modification time."""
    listing = {}
    for dirpath, dirnames, filenames in os.walk(folder):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            st = path.lstat()
            listing[str(path.relative_to(folder))] = (st.st_size, st.st_mtime_ns)
    return listing


def test_index_built_on_the_fly_outside_the_root(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    mix = site.root / "open-llava-next" / "mix.json"  # where the real mix lives: under the data root
    mix.parent.mkdir()
    mix.write_bytes(site.mix.read_bytes())
    before = tree(site.root)
    with serving(mix, site.root, BrowseOptions(report=site.report, cache=tmp_path / "cache")) as running:
        assert running.browser.built_index
        for path in ("/", "/?problem=missing", "/?text=zebra", "/record/1?grid=1", "/image/0", "/summary"):
            assert running.get(path)[0] == 200, path
    assert tree(site.root) == before
    assert [p.suffix for p in (tmp_path / "cache").iterdir()] == [".idx"]
    with serving(mix, site.root, BrowseOptions(cache=tmp_path / "cache")) as again:
        assert not again.browser.built_index  # indexed once


def test_index_beside_the_mix_is_used(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    build_index(site.mix, site.mix.with_suffix(".idx"))
    plan = plan_index(site.mix, site.root, tmp_path / "cache")
    assert plan.path == site.mix.with_suffix(".idx") and not plan.build
    site.mix.write_text(site.mix.read_text().replace("zebra", "horse"))  # changed since: the sibling is stale
    assert plan_index(site.mix, site.root, tmp_path / "cache").build


def test_cache_inside_the_root_is_refused(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    with pytest.raises(ConfigError, match=r"is inside the data root .* pass --cache DIR"):
        open_browser(site.mix, site.root, BrowseOptions(cache=site.root / ".cache"))
    assert not (site.root / ".cache").exists()


def test_report_of_another_mix_is_refused(tmp_path: Path) -> None:
    site = make_site(tmp_path)
    other = tmp_path / "other.json"
    other.write_text('{"records": 3, "problems": []}')
    with pytest.raises(ConfigError, match=r"a verify report of 3 records, but the mix has 49"):
        open_browser(site.mix, site.root, BrowseOptions(report=other, cache=tmp_path / "cache"))
