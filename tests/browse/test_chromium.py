"""End to end in a real browser (headless Chromium): open the list, filter it by a problem code, open a record,
and find its image (decoded by the browser) and its conversation in the DOM. The screenshot is kept as an
artifact in the test's temporary folder."""

from __future__ import annotations

import re
from pathlib import Path

from PIL import Image

from tests.browse.conftest import Served
from tests.chromium import chromium, needs_chromium

pytestmark = needs_chromium


def test_list_filter_record_in_a_browser(served: Served, tmp_path: Path) -> None:
    base = served.server.url.rstrip("/")
    listing = chromium(tmp_path / "p1", "--dump-dom", base + "/?problem=bad_role")
    assert '<option value="bad_role" selected="">bad_role (1)</option>' in listing
    rows = re.findall(r'<tr class="record" data-index="(\d+)">', listing)
    assert rows == ["4"]
    link = re.search(r'<a href="(/record/4)">', listing)
    assert link
    record = chromium(tmp_path / "p2", "--dump-dom", base + link[1])
    assert 'id="image"' in record and 'src="/image/4"' in record
    turns = re.findall(r'<li class="turn (\w+)" data-turn="\d+"><span class="role">(\w+)</span>', record)
    assert turns == [("odd", "system"), ("gpt", "gpt")]
    assert "<b>bad_role</b>" in record
    shot = tmp_path / "record.png"
    chromium(tmp_path / "p3", f"--screenshot={shot}", "--window-size=1100,1400", base + link[1])
    assert red_pixels(shot) >= 40 * 30 * 0.8  # the record's 40x30 red image, served and decoded on the page


def red_pixels(png: Path) -> int:
    """Pixels of the test image's red (200, 10, 10), give or take JPEG's rounding."""
    with Image.open(png) as im:
        rgb = im.convert("RGB")
        return sum(
            1
            for r, g, b in (rgb.getpixel((x, y)) for x in range(rgb.width) for y in range(rgb.height))
            if abs(r - 200) < 24 and g < 40 and b < 40
        )
