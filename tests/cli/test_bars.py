"""The progress bars the CLI draws from the library's Progress calls."""

from __future__ import annotations

import io

from rich.console import Console

from llavamix.cli.progress import RichProgress, progress_bars


def drawn(calls) -> str:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=160, color_system=None)
    bars = progress_bars(console)
    shown = RichProgress(bars)
    calls(shown)
    console.print(bars.make_tasks_table(bars.tasks))
    return out.getvalue()


def test_a_download_bar_shows_bytes_and_the_connections_in_use():
    def calls(shown: RichProgress) -> None:
        shown.start("download coco", 8 << 20, "B", completed=1 << 20)
        shown.advance("download coco", 1 << 20)
        shown.detail("download coco", "5 conn")

    text = drawn(calls)
    assert "download coco" in text
    assert "2.1/8.4 MB" in text
    assert "5 conn" in text


def test_an_item_bar_counts_items_and_a_finished_bar_is_gone():
    def calls(shown: RichProgress) -> None:
        shown.start("extract gqa", 10, "files")
        shown.advance("extract gqa", 3)
        shown.start("download vg", 100)
        shown.finish("download vg")
        shown.detail("download vg", "2 conn")  # after finish: ignored

    text = drawn(calls)
    assert "3/10 files" in text
    assert "download vg" not in text and "conn" not in text
