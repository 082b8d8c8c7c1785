"""The completion marker: absent or unreadable means not extracted; present means the recorded result."""

from __future__ import annotations

from llavamix.extract import Extracted, is_extracted, read_extracted
from llavamix.extract.marker import write_marker
from llavamix.foundation.layout import Layout
from tests.extract.conftest import source


def test_absent(layout: Layout) -> None:
    assert read_extracted(source("coco"), layout) is None
    assert not is_extracted(source("coco"), layout)


def test_round_trip(layout: Layout) -> None:
    result = Extracted("vg1", 3, 42, ["vg/VG_100K"])
    write_marker(layout, result)
    assert read_extracted(source("vg1"), layout) == result
    assert not is_extracted(source("vg2"), layout)  # markers are per source, even when folders are shared


def test_unreadable_marker_means_redo(layout: Layout) -> None:
    path = layout.marker("coco", "extract")
    path.parent.mkdir(parents=True)
    path.write_text('{"source": "coco", "files": "many"}')
    assert read_extracted(source("coco"), layout) is None
    path.write_text("{trunc")
    assert not is_extracted(source("coco"), layout)
