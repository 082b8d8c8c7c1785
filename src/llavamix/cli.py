"""The ``llavamix`` command line: parses options, calls the library, renders its reports, picks the exit code."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import json
from pathlib import Path

import click
import rich.progress
from rich.console import Console
from rich.table import Table

from llavamix import __version__, fetch
from llavamix import prepare as prepare_mod
from llavamix.catalog import load_catalog, resolve_names
from llavamix.errors import LlavamixError
from llavamix.io import human_bytes
from llavamix.layout import Layout
from llavamix.tasks import Progress

# Exit codes (DESIGN.md): 0 all good, 1 error, 2 usage, 3 finished with failed sources or records.
EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_PARTIAL = 0, 1, 2, 3

console = Console()
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(fn: F) -> F:
    """Turn library configuration errors into a one-line message and exit code 1."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except LlavamixError as exc:
            err_console.print(f"[red]error:[/red] {exc}", highlight=False)
            sys.exit(EXIT_ERROR)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="llavamix")
@click.option("-v", "--verbose", count=True, help="Log more (-v info, -vv debug).")
def cli(verbose: int) -> None:
    """Prepare the Open-LLaVA-NeXT training data: acquire, verify, describe, serve."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


# --- acquisition commands: sources, fetch, prepare, status ---


class RichProgress(Progress):
    """Draws one bar per running source and one for the total, fed by the library's Progress calls."""

    def __init__(self, bars: rich.progress.Progress) -> None:
        self.bars = bars
        self.tasks: dict[str, rich.progress.TaskID] = {}
        self.total = bars.add_task("[bold]total", total=0, unit="B")

    def start(self, key: str, total: int | None, unit: str = "B", *, completed: int = 0) -> None:
        if key in self.tasks:
            self.bars.remove_task(self.tasks[key])
        self.tasks[key] = self.bars.add_task(key, total=total, completed=completed, unit=unit)
        if unit == "B" and total:
            grand = self.bars.tasks[self.total].total or 0
            self.bars.update(self.total, total=grand + total, advance=completed)

    def advance(self, key: str, n: int) -> None:
        task = self.tasks.get(key)
        if task is None:
            return
        self.bars.advance(task, n)
        if self.bars.tasks[task].fields.get("unit", "B") == "B":
            self.bars.advance(self.total, n)

    def finish(self, key: str) -> None:
        task = self.tasks.pop(key, None)
        if task is not None:
            self.bars.remove_task(task)


def progress_bars() -> rich.progress.Progress:
    return rich.progress.Progress(
        rich.progress.TextColumn("{task.description:<24}"),
        rich.progress.BarColumn(),
        rich.progress.DownloadColumn(),
        rich.progress.TransferSpeedColumn(),
        rich.progress.TimeRemainingColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    )


def catalog_option(fn: F) -> F:
    return click.option(
        "--catalog",
        "catalog_spec",
        default="default",
        show_default=True,
        help="Catalog TOML path, or a built-in: default, sample.",
    )(fn)


def root_option(required: bool = True) -> Callable[[F], F]:
    return click.option(
        "--root",
        type=click.Path(file_okay=False, path_type=Path),
        required=required,
        default=None if required else Path("data"),
        help="The data root (the training scripts' --image_folder).",
    )


def status_table(rows: list[prepare_mod.SourceStatus], title: str) -> Table:
    table = Table(title=title)
    for col in ("source", "size", "target", "state", "images"):
        table.add_column(col, justify="right" if col in ("size", "images") else "left")
    colours = {"present": "green", "partial": "yellow", "missing": "red"}
    for row in rows:
        src = row.source
        size = human_bytes(src.size) if src.size else "?"
        images = _images_cell(row)
        state = f"[{colours[row.state]}]{row.state}[/]"
        table.add_row(src.name, size, src.into + "/", state, images)
    return table


def _images_cell(row: prepare_mod.SourceStatus) -> str:
    expected = row.source.images
    if row.images is None:
        return f"- / {expected:,}" if expected else "-"
    return f"{row.images:,} / {expected:,}" if expected else f"{row.images:,}"


def print_status(rows: list[prepare_mod.SourceStatus], as_json: bool, title: str) -> None:
    if as_json:
        click.echo(json.dumps([r.to_json() for r in rows], indent=2))
        return
    console.print(status_table(rows, title))
    for row in rows:
        if row.detail:
            console.print(f"  {row.source.name}: {row.detail}", highlight=False)


@cli.command()
@catalog_option
@root_option(required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@handle_errors
def sources(catalog_spec: str, root: Path, as_json: bool) -> None:
    """List the catalog's sources: size, target folder and whether they are present under ROOT."""
    catalog = load_catalog(catalog_spec)
    print_status(prepare_mod.source_status(catalog, root), as_json, f"sources ({catalog.path.name})")


@cli.command()
@catalog_option
@root_option()
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@handle_errors
def status(catalog_spec: str, root: Path, as_json: bool) -> None:
    """Show each source under ROOT as present, partial or missing, with image counts."""
    catalog = load_catalog(catalog_spec)
    print_status(prepare_mod.source_status(catalog, root), as_json, f"status of {root}")


def _jobs_option(fn: F) -> F:
    return click.option("--jobs", "-j", type=click.IntRange(1), default=4, show_default=True,
                        help="Sources handled in parallel.")(fn)


def _downloads_option(fn: F) -> F:
    return click.option("--downloads", type=click.Path(file_okay=False, path_type=Path), default=None,
                        help="Folder for downloaded archives [default: ROOT/.llavamix/downloads].")(fn)


@cli.command(name="fetch")
@click.argument("names", nargs=-1)
@catalog_option
@root_option()
@_jobs_option
@_downloads_option
@handle_errors
def fetch_cmd(names: tuple[str, ...], catalog_spec: str, root: Path, jobs: int, downloads: Path | None) -> None:
    """Download and checksum sources (NAMES or groups; default all) without extracting them."""
    catalog = load_catalog(catalog_spec)
    layout = Layout(root, downloads)
    selected = resolve_names(catalog, list(names))
    with progress_bars() as bars:
        options = fetch.FetchOptions(jobs=jobs, progress=RichProgress(bars))
        report = fetch.fetch_sources(selected, layout, options, catalog.hosts)
    table = Table(title="fetch")
    for col in ("source", "file", "size", "how"):
        table.add_column(col)
    for item in report.fetched:
        table.add_row(item.source, str(item.path), human_bytes(item.size), item.how)
    console.print(table)
    _exit_for_failures(report.failed)


def _exit_for_failures(failed: dict[str, str]) -> None:
    for name, message in failed.items():
        err_console.print(f"[red]failed[/red] {name}: {message}", highlight=False)
    if failed:
        err_console.print("Fix the above and rerun the same command: finished work is kept.")
        sys.exit(EXIT_PARTIAL)


@cli.command(name="prepare")
@click.argument("names", nargs=-1)
@catalog_option
@root_option()
@_jobs_option
@_downloads_option
@click.option("--keep-archives", is_flag=True, help="Keep downloaded archives after extraction.")
@click.option("--deep", is_flag=True, help="Decode every image in the final verify (slower).")
@handle_errors
def prepare_cmd(
    names: tuple[str, ...], catalog_spec: str, root: Path, jobs: int, downloads: Path | None,
    keep_archives: bool, deep: bool,
) -> None:
    """Fetch, extract and lay out sources (NAMES or groups; default all), then verify the mix.

    Idempotent: safe to kill and rerun; finished sources are skipped.
    """
    catalog = load_catalog(catalog_spec)
    with progress_bars() as bars:
        options = prepare_mod.PrepareOptions(
            jobs=jobs, downloads=downloads, keep_archives=keep_archives, deep=deep, progress=RichProgress(bars)
        )
        report = prepare_mod.prepare(catalog, list(names), root, options)
    render_prepare(report)
    if not report.ok:
        sys.exit(EXIT_PARTIAL)


def render_prepare(report: prepare_mod.PrepareReport) -> None:
    table = Table(title=f"prepare {report.root}")
    for col in ("source", "result", "files", "landed in"):
        table.add_column(col)
    labels = {"done": "[green]done[/]", "skipped": "[green]already done[/]", "failed": "[red]failed[/]"}
    for res in report.sources:
        ext = res.extracted
        files = f"{ext.files:,}" if ext else "-"
        where = ", ".join(ext.roots) if ext else "-"
        table.add_row(res.name, labels[res.status], files, where)
    console.print(table)
    for alias in report.aliases:
        if alias.how != "exists":
            console.print(f"alias {alias.link} -> {alias.target} ({alias.how})", highlight=False)
    if report.verify is not None:
        render_verify_summary(report.verify)
    for res in report.failed:
        err_console.print(f"[red]failed[/red] {res.name}: {res.error}", highlight=False)
    if report.failed:
        err_console.print("Rerun the same command to retry the failed sources; finished ones are kept.")



# --- verify and stats commands ---


# --- index and pack commands ---


def main() -> None:
    cli()
