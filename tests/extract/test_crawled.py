"""The lay-out step of a crawled source takes stock of images the fetch stage crawled into place; it extracts
nothing."""

from __future__ import annotations

from pathlib import Path

from llavamix.extract import extract_source, read_extracted, take_stock
from llavamix.foundation.layout import Layout
from tests.extract.conftest import source


def test_crawled_images_are_counted_and_marked(tmp_path: Path, layout: Layout) -> None:
    folder = layout.root / "ocr_vqa" / "images"
    folder.mkdir(parents=True)
    (folder / "a.jpg").write_bytes(b"12345")
    (folder / "b.jpg").write_bytes(b"123")
    (folder / "c.jpg.part").write_bytes(b"half")
    index = tmp_path / "dataset.json"
    index.write_text("{}")
    src = source("ocr_vqa", archive="none", into="ocr_vqa/images", kind="ocrvqa")
    done = extract_source(src, index, layout, step=take_stock)
    assert (done.files, done.bytes, done.roots) == (2, 8, ["ocr_vqa/images"])
    assert read_extracted(src, layout) == done
