"""The library's ``Progress`` drawn as rich progress bars on stderr (only when it is a terminal)."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import rich.progress
from rich.console import Console
from rich.text import Text

from llavamix.cli.render import err_console
from llavamix.foundation.tasks import Progress


class RichProgress(Progress):
    """One bar per running piece of work (bytes or items), in the order they started; thread-safe. Totals are the
    library's own bars (``prepare``'s over every download of a run), drawn in place as they are started again."""

    def __init__(self, bars: rich.progress.Progress) -> None:
        self.bars = bars
        self.tasks: dict[str, rich.progress.TaskID] = {}
        self.lock = threading.Lock()

    def start(self, key: str, total: int | None, unit: str = "B", *, completed: int = 0) -> None:
        with self.lock:
            task = self.tasks.get(key)
            if task is None:
                self.tasks[key] = self.bars.add_task(key, total=total, completed=completed, unit=unit, detail="")
            else:
                self.bars.update(task, total=total, completed=completed, unit=unit)

    def advance(self, key: str, n: int) -> None:
        task = self.tasks.get(key)
        if task is not None:
            self.bars.advance(task, n)

    def detail(self, key: str, text: str) -> None:
        task = self.tasks.get(key)
        if task is not None:
            self.bars.update(task, detail=text)

    def finish(self, key: str) -> None:
        with self.lock:
            task = self.tasks.pop(key, None)
        if task is not None:
            self.bars.remove_task(task)


class AmountColumn(rich.progress.ProgressColumn):
    """Bytes and rate for byte-counting work, ``done/total unit`` for work counted in items."""

    def __init__(self) -> None:
        super().__init__()
        self.size, self.rate = rich.progress.DownloadColumn(), rich.progress.TransferSpeedColumn()
        self.count = rich.progress.MofNCompleteColumn()

    def render(self, task: rich.progress.Task) -> Text:
        unit = task.fields.get("unit", "B")
        if unit == "B":
            return Text.assemble(self.size.render(task), " ", self.rate.render(task))
        return Text.assemble(self.count.render(task), f" {unit}")


def progress_bars(console: Console = err_console) -> rich.progress.Progress:
    return rich.progress.Progress(
        rich.progress.TextColumn("{task.description:<28}"),
        rich.progress.BarColumn(),
        AmountColumn(),
        rich.progress.TimeRemainingColumn(),
        rich.progress.TextColumn("{task.fields[detail]}"),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )


@contextlib.contextmanager
def bars() -> Iterator[RichProgress]:
    """Progress bars for the block, gone when it ends."""
    with progress_bars() as shown:
        yield RichProgress(shown)
