"""The ``llavamix`` command line: parses options, calls the library, renders its reports, picks the exit code."""

from __future__ import annotations

import errno
import json
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from functools import wraps
from pathlib import Path
from types import FrameType
from typing import Any, Literal, NoReturn, TypeVar

import click
import rich.progress
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from llavamix import __version__, fetch, stats, verify
from llavamix import index as index_stage
from llavamix import pack as pack_stage
from llavamix import prepare as prepare_mod
from llavamix.catalog import load_catalog
from llavamix.errors import LlavamixError
from llavamix.io import PART_SUFFIX, free_bytes, human_bytes, same_file
from llavamix.layout import MIX_JSON, Layout
from llavamix.tasks import Cancelled, Progress

# Exit codes (DESIGN.md): 0 all good, 1 error, 2 usage, 3 finished with failed sources or records; after a stop
# request 128 + the signal, as shells report it: 130 after Ctrl-C, 143 after SIGTERM.
EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_PARTIAL = 0, 1, 2, 3
DISK_FULL = (errno.ENOSPC, errno.EDQUOT)
# the options of a command that name places it writes: where a full disk is looked for when the error names none
WRITTEN_PLACES = ("root", "downloads", "out", "report_path", "html_path", "clean_path")

log = logging.getLogger(__name__)
console = Console()
err_console = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(fn: F) -> F:
    """Turn library configuration errors and OS errors into a one-line message and exit code 1, and a stop
    request (Ctrl-C, SIGTERM) into a line saying how to resume and exit code 128 + the signal."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except LlavamixError as exc:
            err_console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
            sys.exit(EXIT_ERROR)
        except OSError as exc:
            # an unwritable, missing or full place the user named, not a bug; -vv still logs where it happened
            log.debug("stopped by an OS error", exc_info=True)
            message = describe_os_error(exc, written_places(kwargs), downloads="downloads" in kwargs)
            err_console.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
            sys.exit(EXIT_ERROR)
        except (KeyboardInterrupt, Cancelled) as exc:
            exit_stopped(getattr(exc, "signum", signal.SIGINT))

    return wrapper  # type: ignore[return-value]


def written_places(options: Mapping[str, Any]) -> list[Path]:
    return [Path(options[k]) for k in WRITTEN_PLACES if options.get(k) is not None]


def describe_os_error(exc: OSError, places: list[Path] | None = None, *, downloads: bool = False) -> str:
    """``Permission denied: out/mix.idx; check ...``, naming the final path rather than its temporary twin."""
    if exc.errno in DISK_FULL:
        return describe_disk_full(exc, places or [], downloads=downloads)
    what = exc.strerror or str(exc)
    if exc.filename:
        what += f": {str(exc.filename).removesuffix(PART_SUFFIX)}"
    return f"{what}; check that the path is right and writable and that its disk has room"


def describe_disk_full(exc: OSError, places: list[Path], *, downloads: bool = False) -> str:
    """``disk full writing data/coco/a.jpg: its filesystem has 0 B free; free some space ...``: the file when the
    error names one, else the places the command writes, each with the free space of its filesystem."""
    what = "disk quota exceeded" if exc.errno == errno.EDQUOT else "disk full"
    if exc.filename:
        path = Path(str(exc.filename).removesuffix(PART_SUFFIX))
        where = f" writing {path}: its filesystem has {_free(path)}"
    else:
        shown = _one_per_filesystem(places)
        where = ": " + ", ".join(f"{p} has {_free(p)}" for p in shown) if shown else ""
    move = "put the downloads on another disk with --downloads DIR" if downloads else "write to another disk"
    return f"{what}{where}; free some space there or {move}, then rerun the same command: finished work is kept"


def _free(path: Path) -> str:
    """``'1.2 GiB free'`` on ``path``'s filesystem, and whether it is out of inodes (room for new files)."""
    try:
        free = human_bytes(free_bytes(path))
        fs = os.statvfs(_nearest(path))
    except OSError:
        return "an unknown amount free"
    return f"{free} free but no inodes left for new files" if fs.f_files and not fs.f_favail else f"{free} free"


def _one_per_filesystem(places: list[Path]) -> list[Path]:
    seen: dict[int, Path] = {}
    for place in places:
        try:
            seen.setdefault(_nearest(place).stat().st_dev, place)
        except OSError:
            continue
    return list(seen.values())


def _nearest(path: Path) -> Path:
    """``path`` or its nearest existing parent (the full disk may have kept it from being created)."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def exit_stopped(signum: int) -> NoReturn:
    """After Ctrl-C or SIGTERM: say that the work is kept and how to resume; exit 128 + the signal."""
    name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
    err_console.print(
        f"[yellow]stopped[/yellow] by {name}: finished work and partial downloads are kept; rerun the same "
        "command to resume",
        highlight=False,
        soft_wrap=True,
    )
    code = 128 + signum
    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        # a second interrupt cut the wind-down short: exit now rather than wait at exit for the stragglers (what
        # they leave is what a kill leaves, which every stage resumes from)
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="llavamix")
@click.option("-v", "--verbose", count=True, help="Log more (-v info, -vv debug).")
def cli(verbose: int) -> None:
    """Prepare the Open-LLaVA-NeXT training data: acquire, verify, describe, serve."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


# --- acquisition commands: sources, fetch, prepare, status ---


class RichProgress(Progress):
    """One bar per running piece of work (bytes or items), plus a total bar once bytes flow; thread-safe."""

    def __init__(self, bars: rich.progress.Progress) -> None:
        self.bars = bars
        self.tasks: dict[str, tuple[rich.progress.TaskID, str]] = {}
        self.total: rich.progress.TaskID | None = None
        self.total_bytes = 0
        self.lock = threading.Lock()

    def start(self, key: str, total: int | None, unit: str = "B", *, completed: int = 0) -> None:
        self.finish(key)
        with self.lock:
            self.tasks[key] = (self.bars.add_task(key, total=total, completed=completed, unit=unit), unit)
            if unit == "B" and total:
                if self.total is None:
                    self.total = self.bars.add_task("[bold]total", total=0, unit="B")
                self.total_bytes += total
                self.bars.update(self.total, total=self.total_bytes, advance=completed)

    def advance(self, key: str, n: int) -> None:
        entry = self.tasks.get(key)
        if entry is None:
            return
        task, unit = entry
        self.bars.advance(task, n)
        if unit == "B" and self.total is not None:
            self.bars.advance(self.total, n)

    def finish(self, key: str) -> None:
        with self.lock:
            entry = self.tasks.pop(key, None)
        if entry is not None:
            self.bars.remove_task(entry[0])


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


def progress_bars() -> rich.progress.Progress:
    return rich.progress.Progress(
        rich.progress.TextColumn("{task.description:<24}"),
        rich.progress.BarColumn(),
        AmountColumn(),
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


def existing_root_option(fn: F) -> F:
    """``--root`` for commands that read images under it: a missing folder is a mistake, not an empty root."""
    return click.option(
        "--root",
        type=click.Path(exists=True, file_okay=False, path_type=Path),
        required=True,
        help="The data root (the training scripts' --image_folder).",
    )(fn)


def refuse_overwriting(mix: Path, outputs: dict[str, Path | None]) -> None:
    """Stop before any work when an output option names the input mix: writing it would destroy the input."""
    for flag, path in outputs.items():
        if path is not None and same_file(path, mix):
            raise click.BadParameter(f"{path} is the mix itself; write to another file", param_hint=f"'{flag}'")


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
            console.print(f"  {row.source.name}: {escape(row.detail)}", highlight=False)


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


def jobs_option(default: int | None, help: str) -> Callable[[F], F]:
    """``--jobs/-j N`` (at least 1); ``default=None`` lets the library pick (all cores)."""
    return click.option(
        "--jobs", "-j", type=click.IntRange(1), default=default, show_default=default is not None, help=help
    )


def _downloads_option(fn: F) -> F:
    return click.option(
        "--downloads",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Folder for downloaded archives [default: ROOT/.llavamix/downloads].",
    )(fn)


def _all_option(fn: F) -> F:
    return click.option(
        "--all",
        "all_keys",
        is_flag=True,
        help="OCR-VQA: crawl every image of dataset.json, not only those the mix JSON references.",
    )(fn)


@cli.command(name="fetch")
@click.argument("names", nargs=-1)
@catalog_option
@root_option()
@jobs_option(4, "Sources handled in parallel.")
@_downloads_option
@_all_option
@handle_errors
def fetch_cmd(
    names: tuple[str, ...], catalog_spec: str, root: Path, jobs: int, downloads: Path | None, all_keys: bool
) -> None:
    """Download and checksum sources (NAMES or groups; default all) without extracting them.

    Sources already laid out under ROOT by ``prepare`` are skipped.
    """
    catalog = load_catalog(catalog_spec)
    layout = Layout(root, downloads)
    with progress_bars() as bars:
        crawl = fetch.CrawlOptions(all_keys=all_keys)
        options = fetch.FetchOptions(jobs=jobs, progress=RichProgress(bars), crawl=crawl)
        report, laid_out = prepare_mod.fetch_missing(catalog, list(names), layout, options)
    table = Table(title="fetch")
    for col in ("source", "file", "size", "how"):
        table.add_column(col)
    for item in report.fetched:
        table.add_row(item.source, str(item.path), human_bytes(item.size), item.how)
    for name in laid_out:
        table.add_row(name, "-", "-", f"already laid out under {root}")
    console.print(table)
    for item in report.fetched:
        if item.crawl is not None:
            render_crawl(item.crawl, root)
    _exit_for_failures(report.failed)


def render_crawl(crawl: fetch.CrawlReport, root: Path) -> None:
    """One line per crawl; dead URLs with the records of the mix they cost and how to drop those records."""
    console.print(
        f"{crawl.source}: {crawl.keys:,} images wanted, {crawl.landed:,} fetched, {crawl.present:,} already there, "
        f"{len(crawl.dead):,} dead",
        highlight=False,
    )
    if not crawl.dead and not crawl.unknown:
        return
    gone = f"{len(crawl.dead):,} image URLs are dead" + (f" ({crawl.report})" if crawl.report else "")
    if crawl.unknown:
        gone += f", and the mix names {crawl.unknown:,} keys that dataset.json lacks"
    if crawl.dead_records:
        mix_path = root / MIX_JSON
        gone += (
            f"; {crawl.dead_records:,} records of the mix need them. Drop those records with: "
            f"llavamix verify {mix_path} --root {root} --write-clean CLEAN.json"
        )
    console.print(f"[yellow]{crawl.source}[/]: {gone}", highlight=False)


def _exit_for_failures(failed: dict[str, str]) -> None:
    for name, message in failed.items():
        err_console.print(f"[red]failed[/red] {name}: {escape(message)}", highlight=False, soft_wrap=True)
    if failed:
        err_console.print("Fix the above and rerun the same command: finished work is kept.")
        sys.exit(EXIT_PARTIAL)


@cli.command(name="prepare")
@click.argument("names", nargs=-1)
@catalog_option
@root_option()
@jobs_option(4, "Sources handled in parallel.")
@_downloads_option
@click.option("--keep-archives", is_flag=True, help="Keep downloaded archives after extraction.")
@click.option("--deep", is_flag=True, help="Decode every image in the final verify (slower).")
@_all_option
@handle_errors
def prepare_cmd(
    names: tuple[str, ...],
    catalog_spec: str,
    root: Path,
    jobs: int,
    downloads: Path | None,
    keep_archives: bool,
    deep: bool,
    all_keys: bool,
) -> None:
    """Fetch, extract and lay out sources (NAMES or groups; default all), then verify the mix.

    Idempotent: safe to kill and rerun; finished sources are skipped.
    """
    catalog = load_catalog(catalog_spec)
    with progress_bars() as bars:
        options = prepare_mod.PrepareOptions(
            jobs=jobs,
            downloads=downloads,
            keep_archives=keep_archives,
            deep=deep,
            fetch=fetch.FetchOptions(crawl=fetch.CrawlOptions(all_keys=all_keys)),
            progress=RichProgress(bars),
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
    if report.add_path is not None and report.add_path.how == "written":
        console.print(f"wrote {report.add_path.path} ({report.add_path.records:,} records)", highlight=False)
    for crawl in report.crawls.values():
        render_crawl(crawl, report.root)
    if report.verify is not None:
        render_verify_summary(report.verify)
    for res in report.failed:
        err_console.print(f"[red]failed[/red] {res.name}: {escape(str(res.error))}", highlight=False, soft_wrap=True)
    if report.failed:
        err_console.print("Rerun the same command to retry the failed sources; finished ones are kept.")


# --- verify and stats commands ---


@cli.command(name="verify")
@click.argument("mix", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@existing_root_option
@click.option("--deep", is_flag=True, help="Decode every image in full (catches truncated and corrupt files).")
@jobs_option(None, "Worker processes [default: all cores].")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path), help="Write the JSON report.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path), help="Write an HTML report.")
@click.option(
    "--write-clean",
    "clean_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the mix without the records that have an error.",
)
@click.option("--no-cache", is_flag=True, help="Decode every image again instead of reusing cached verdicts.")
@handle_errors
def verify_cmd(
    mix: Path,
    root: Path,
    deep: bool,
    jobs: int | None,
    report_path: Path | None,
    html_path: Path | None,
    clean_path: Path | None,
    no_cache: bool,
) -> None:
    """Check that every record of MIX trains: record structure, and each image under ROOT (exit 3 on errors)."""
    refuse_overwriting(mix, {"--report": report_path, "--html": html_path, "--write-clean": clean_path})
    with progress_bars() as bars:
        options = verify.VerifyOptions(
            deep=deep, jobs=jobs, cache=not no_cache, profile=html_path is not None, progress=RichProgress(bars)
        )
        report = verify.verify_mix(mix, root, options)
    render_verify_summary(report)
    if report_path is not None:
        report.write_json(report_path)
    if html_path is not None:
        verify.write_html(report, html_path)
    if clean_path is not None:
        kept = verify.write_clean(mix, report, clean_path)
        console.print(f"wrote {kept:,} error-free records to {clean_path}", highlight=False)
    if report.error_count:
        sys.exit(EXIT_PARTIAL)


def render_verify_summary(report: verify.VerifyReport) -> None:
    table = Table(title=f"verify {report.mix}" + (" (deep)" if report.deep else ""))
    for col in ("source", "records", "errors"):
        table.add_column(col, justify="left" if col == "source" else "right")
    for name, count in sorted(report.by_source.items()):
        errors = f"[red]{count.errors:,}[/]" if count.errors else "0"
        table.add_row(name, f"{count.records:,}", errors)
    table.add_row("[bold]total", f"[bold]{report.records:,}", f"[bold]{report.error_count:,}")
    console.print(table)
    for code, n in report.errors.items():
        console.print(f"[red]{code}[/]: {n:,} - {verify.REASONS[code]}", highlight=False)
    for code, n in report.warnings.items():
        console.print(f"[yellow]{code}[/]: {n:,} - {verify.REASONS[code]}", highlight=False)
    if report.error_count:
        console.print(
            f"{report.error_count:,} of {report.records:,} records would fail training; fix the data or drop them "
            "with --write-clean OUT.json (--report R.json lists each one).",
            highlight=False,
        )
    else:
        console.print(f"[green]all {report.records:,} records ok[/] ({report.images:,} images checked)")


@cli.command(name="stats")
@click.argument("mix", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--root",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=None,
    help="The data root; with it, image sizes and visual tokens are reported too.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the stats as JSON.")
@click.option("--html", "html_path", type=click.Path(dir_okay=False, path_type=Path), help="Write an HTML report.")
@jobs_option(None, "Worker processes [default: all cores].")
@handle_errors
def stats_cmd(mix: Path, root: Path | None, as_json: bool, html_path: Path | None, jobs: int | None) -> None:
    """Describe MIX: composition per source, turns, words as the training sampler counts them, image sizes."""
    refuse_overwriting(mix, {"--html": html_path})
    with progress_bars() as bars:
        report = stats.compute_stats(mix, root, stats.StatsOptions(jobs=jobs, progress=RichProgress(bars)))
    if html_path is not None:
        stats.write_html(report, html_path)
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
        return
    render_stats(report)


def render_stats(report: stats.StatsReport) -> None:
    data = report.to_json()
    table = Table(title=f"stats {report.mix}")
    for col in ("source", "records", "share", "images"):
        table.add_column(col, justify="left" if col == "source" else "right")
    for name, entry in data["by_source"].items():
        share = f"{100 * entry['records'] / max(1, report.records):.1f}%"
        table.add_row(name, f"{entry['records']:,}", share, f"{entry['images']:,}")
    console.print(table)
    words = data["modality_lengths"]
    console.print(
        f"{report.records:,} records: {report.with_image:,} with an image, {report.text_only:,} text-only, "
        f"{report.malformed:,} malformed; turns per record "
        f"{sum(report.turns) / max(1, len(report.turns)):.1f} on average",
        highlight=False,
    )
    if report.lengths:
        lengths = data["lengths"]
        console.print(
            f"sampler lengths: median {lengths['median']}, p95 {lengths['p95']}, max {lengths['max']} "
            f"(text-only modality lengths are negative: min {words['min']})",
            highlight=False,
        )
    if data.get("visual_tokens"):
        tokens = data["visual_tokens"]
        console.print(
            f"{len(report.sizes):,} images read ({report.unreadable:,} unreadable); anyres visual tokens "
            f"per image: median {tokens['median']}, p95 {tokens['p95']}, max {tokens['max']}",
            highlight=False,
        )


# --- index and pack commands ---


@cli.command(name="index")
@click.argument("mix", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "-o",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The index file to write, e.g. MIX.idx.",
)
@jobs_option(2, "Processes that decode records while one writes.")
@handle_errors
def index_cmd(mix: Path, out: Path, jobs: int) -> None:
    """Build a compact memory-mapped index of MIX: instant open, shared pages, the sampler's lengths."""
    refuse_overwriting(mix, {"--out": out})
    with progress_bars() as bars:
        report = index_stage.build_index(mix, out, index_stage.IndexOptions(jobs=jobs, progress=RichProgress(bars)))
    console.print(
        f"{report.path}: {report.records:,} records ({report.images:,} with an image, {report.text_only:,} "
        f"text-only), {human_bytes(report.bytes)}, built in {report.seconds:.1f}s",
        highlight=False,
    )


@cli.command(name="pack")
@click.argument("mix", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@existing_root_option
@click.option(
    "--out",
    "-o",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder that receives the shards and the manifest.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["webdataset", "parquet"]),
    default="webdataset",
    show_default=True,
    help="WebDataset tar shards or Parquet shards with embedded images.",
)
@click.option(
    "--shard-size",
    "size",
    default="1GB",
    callback=lambda _ctx, _param, text: parse_shard_size(text),
    show_default=True,
    help="Bytes per shard (1GB, 500MB, 2GiB) or records per shard (a plain number: 10000).",
)
@click.option("--name", default=None, help="Shard name prefix [default: the mix file's stem].")
@jobs_option(4, "Shards written in parallel.")
@click.option(
    "--on-error",
    type=click.Choice(["fail", "skip"]),
    default="fail",
    show_default=True,
    help="A record that cannot be packed (any error of verify's quick checks: bad roles, turns not alternating, "
    "image missing, empty, not a regular file or outside the root, ...): stop before writing "
    "anything, or leave it out and list it in the manifest.",
)
@handle_errors
def pack_cmd(
    mix: Path,
    root: Path,
    out: Path,
    fmt: Literal["webdataset", "parquet"],
    size: pack_stage.ShardSize,
    name: str | None,
    jobs: int,
    on_error: Literal["fail", "skip"],
) -> None:
    """Pack MIX and its images into WebDataset or Parquet shards; resumable, the manifest is written last."""
    with progress_bars() as bars:
        options = pack_stage.PackOptions(
            format=fmt,
            shard_size=size,
            name=name,
            jobs=jobs,
            on_error=on_error,
            progress=RichProgress(bars),
        )
        report = pack_stage.pack_mix(mix, root, out, options)
    render_pack(report)
    for problem in report.problems[:10]:
        where = problem.path or ""
        why = f"{where} ({problem.detail})" if where and problem.detail else where or problem.detail
        err_console.print(
            f"[yellow]left out[/yellow] record {problem.index} (id {problem.id!r}): {problem.code} {escape(why)}",
            highlight=False,
        )
    if report.problems:
        err_console.print(f"{len(report.problems)} record(s) left out; all are listed in the manifest.")
    _exit_for_failures(report.failed)
    if report.problems:
        sys.exit(EXIT_PARTIAL)


def parse_shard_size(text: str) -> pack_stage.ShardSize:
    try:
        return pack_stage.ShardSize.parse(text)
    except LlavamixError as exc:
        raise click.BadParameter(str(exc)) from None


def render_pack(report: pack_stage.PackReport) -> None:
    table = Table(title=f"pack ({report.format}) -> {report.out_dir}")
    for col in ("shards", "written", "reused", "failed", "records", "images", "size", "time"):
        table.add_column(col, justify="right")
    table.add_row(
        str(len(report.shards)),
        str(len(report.written)),
        str(len(report.reused)),
        str(len(report.failed)),
        f"{report.packed:,}/{report.records:,}",
        f"{report.images:,}",
        human_bytes(report.bytes),
        f"{report.seconds:.1f}s",
    )
    console.print(table)
    if report.manifest is not None:
        console.print(f"manifest: {report.manifest}", highlight=False)


def main() -> None:
    # SIGTERM takes Ctrl-C's path: work in flight stops at its next check, finished work is kept, exit 143
    signal.signal(signal.SIGTERM, _stop_on_signal)
    cli()


def _stop_on_signal(signum: int, _frame: FrameType | None) -> None:
    raise Cancelled(signum)
