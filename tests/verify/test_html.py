"""The HTML report is one self-contained page that a real browser renders with its tables and images."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from llavamix.verify import VerifyOptions, verify_mix, write_html
from tests.chromium import chromium, needs_chromium
from tests.verify.conftest import image_files, record, write_mix

pytest.importorskip("matplotlib", reason="the HTML report needs the 'report' extra")


def make_page(data_root: Path, tmp_path: Path) -> Path:
    recs = [record(rid=i, image=rel, n_rounds=1 + i % 3) for i, rel in enumerate(sorted(image_files()))]
    mix = write_mix(tmp_path / "mix.json", [*recs, record(rid="t", image=None), [1, 2]])
    report = verify_mix(mix, data_root, VerifyOptions(jobs=1, deep=True, profile=True))
    write_html(report, tmp_path / "report.html")
    return tmp_path / "report.html"


def test_page_is_self_contained(data_root: Path, tmp_path: Path) -> None:
    page = make_page(data_root, tmp_path).read_text()
    assert "<table" in page and "data:image/png;base64," in page and "data:image/jpeg;base64," in page
    assert not re.search(r"""(src|href)=['"](?!data:)""", page)  # nothing loaded from elsewhere


@needs_chromium
def test_chromium_renders_tables_plots_and_thumbnails(data_root: Path, tmp_path: Path) -> None:
    page = make_page(data_root, tmp_path)
    shot = tmp_path / "shot.png"
    chromium(tmp_path / "p1", f"--screenshot={shot}", "--window-size=1200,2400", page.as_uri())
    assert shot.stat().st_size > 10_000
    dom = chromium(tmp_path / "p2", "--dump-dom", page.as_uri())
    assert dom.count("<table") >= 3
    assert dom.count('class="plot"') >= 4  # composition, turns, words, sizes, tokens
    assert 'class="thumb"' in dom and "bomb" in dom and "not_object" in dom
