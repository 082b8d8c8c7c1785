"""What the commands print: the consoles, and one renderer per library report (tables and summary lines).

Failures are not rendered here but in ``failures``, the one place every command prints them from.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from pathlib import Path

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from llavamix import fetch, stats, verify
from llavamix import index as index_stage
from llavamix import pack as pack_stage
from llavamix import plan as plan_mod
from llavamix import prepare as prepare_mod
from llavamix.catalog import GroupSize
from llavamix.foundation.io import human_bytes

console = Console()
err_console = Console(stderr=True)


def say(text: str) -> None:
    """One line of a summary on stdout, as written (no guessing of numbers and paths to colour)."""
    console.print(text, highlight=False)


def new_table(title: str, columns: Sequence[str], right: Collection[str] = ()) -> Table:
    table = Table(title=title)
    for col in columns:
        table.add_column(col, justify="right" if col in right else "left")
    return table


def print_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2))


# --- acquisition ---


def print_status(rows: list[prepare_mod.SourceStatus], as_json: bool, title: str) -> None:
    if as_json:
        print_json([r.to_json() for r in rows])
        return
    console.print(status_table(rows, title))
    for row in rows:
        if row.detail:
            say(f"  {row.source.name}: {escape(row.detail)}")


def print_group_sizes(sizes: dict[str, GroupSize]) -> None:
    """One line per group: its downloads added up (``≈`` when approximate figures are in the sum)."""
    for group, total in sizes.items():
        rough = "≈" if total.approximate else ""
        unknown = f", not counting {', '.join(total.unknown)} (size unknown)" if total.unknown else ""
        say(f"{group}: {rough}{human_bytes(total.size)} to download{unknown}")


def status_table(rows: list[prepare_mod.SourceStatus], title: str) -> Table:
    columns = ("source", "size", "target", "state", "images", "groups")
    table = new_table(title, columns, right=("size", "images"))
    colours = {"present": "green", "partial": "yellow", "missing": "red"}
    for row in rows:
        src = row.source
        size = _figure(src.size, "catalog") if src.size is not None else _figure(src.approx_size, "approximate")
        state = f"[{colours[row.state]}]{row.state}[/]"
        table.add_row(src.name, size, src.into + "/", state, _images_cell(row), ", ".join(src.groups) or "-")
    return table


def _images_cell(row: prepare_mod.SourceStatus) -> str:
    expected = row.source.images
    if row.images is None:
        return f"- / {expected:,}" if expected else "-"
    return f"{row.images:,} / {expected:,}" if expected else f"{row.images:,}"


def render_fetch(report: fetch.FetchReport, laid_out: list[str], root: Path) -> None:
    table = new_table("fetch", ("source", "file", "size", "how"))
    for item in report.fetched:
        table.add_row(item.source, str(item.path), human_bytes(item.size), item.how)
    for name in laid_out:
        table.add_row(name, "-", "-", f"already laid out under {root}")
    console.print(table)
    for item in report.fetched:
        if item.crawl is not None:
            render_crawl(item.crawl, root)


def render_crawl(crawl: fetch.CrawlReport, root: Path) -> None:
    """One line per crawl; dead URLs with the records of the mix they cost and how to drop those records."""
    if crawl.mirror:
        say(
            f"{crawl.source}: {crawl.keys:,} images wanted, {crawl.mirrored:,} from the mirror, {crawl.landed:,} "
            f"crawled, {crawl.present:,} already there, {len(crawl.dead):,} dead in both"
        )
    else:
        say(
            f"{crawl.source}: {crawl.keys:,} images wanted, {crawl.landed:,} fetched, {crawl.present:,} already "
            f"there, {len(crawl.dead):,} dead"
        )
    if not crawl.dead and not crawl.unknown:
        return
    dead = "are missing from the mirror and their URLs are dead" if crawl.mirror else "image URLs are dead"
    gone = f"{len(crawl.dead):,} {dead}" + (f" ({crawl.report})" if crawl.report else "")
    if crawl.unknown:
        gone += f", and the mix names {crawl.unknown:,} keys that dataset.json lacks"
    if crawl.dead_records:
        mixes = [str(m) for m in crawl.mixes] or ["MIX"]
        commands = "; ".join(f"llavamix verify {m} --root {root} --write-clean CLEAN.json" for m in mixes)
        whose = "the mix" if len(mixes) == 1 else "the mixes"
        gone += f"; {crawl.dead_records:,} records of {whose} need them. Drop those records with: {commands}"
    say(f"[yellow]{crawl.source}[/]: {gone}")


def render_prepare(report: prepare_mod.PrepareReport) -> None:
    columns = ("source", "result", "download", "extraction", "files", "landed in")
    table = new_table(f"prepare {report.root}", columns, right=("files",))
    labels = {"done": "[green]done[/]", "skipped": "[green]already done[/]", "failed": "[red]failed[/]"}
    for res in report.sources:
        ext = res.extracted
        files = f"{ext.files:,}" if ext else "-"
        where = _landed_cell(ext.roots) if ext else "-"
        table.add_row(res.name, labels[res.status], _download_cell(res), _seconds_cell(res, "extract"), files, where)
    console.print(table)
    if any(res.seconds for res in report.sources):
        say(
            f"wall time {report.seconds:.1f}s for the downloads and extractions, which run side by side: "
            f"{report.phase_seconds('download'):.1f}s downloading and {report.phase_seconds('extract'):.1f}s "
            "extracting, added up over the sources"
        )
    for alias in report.aliases:
        if alias.how != "exists":
            say(f"alias {alias.link} -> {alias.target} ({alias.how})")
    if report.add_path is not None and report.add_path.how == "written":
        say(f"wrote {report.add_path.path} ({report.add_path.records:,} records)")
    for crawl in report.crawls.values():
        render_crawl(crawl, report.root)
    for checked in report.verified:
        render_verify(checked)


def _landed_cell(roots: list[str], shown: int = 3) -> str:
    """The folders a source landed in; a long list (an archive of numbered folders) as its first and last."""
    if len(roots) <= shown:
        return ", ".join(roots)
    return f"{roots[0]} … {roots[-1]} ({len(roots):,} folders)"


def _download_cell(res: prepare_mod.SourceResult) -> str:
    """What the source's download took this run: size, time and rate, or how its file was found."""
    got, seconds = res.fetched, res.seconds.get("download")
    if got is None:
        return "-"
    if seconds is None or got.how in ("present", "adopted"):
        return f"{human_bytes(got.size)} {got.how}"
    rate = f", {human_bytes(got.size / seconds)}/s" if seconds > 0 else ""
    return f"{human_bytes(got.size)} in {seconds:.1f}s{rate}" + (" (resumed)" if got.how == "resumed" else "")


def _seconds_cell(res: prepare_mod.SourceResult, phase: prepare_mod.Phase) -> str:
    seconds = res.seconds.get(phase)
    return "-" if seconds is None else f"{seconds:.1f}s"


# --- checks ---


def render_verify(report: verify.VerifyReport) -> None:
    title = f"verify {report.mix}" + (" (deep)" if report.deep else "")
    table = new_table(title, ("source", "records", "errors"), right=("records", "errors"))
    for name, count in sorted(report.by_source.items()):
        errors = f"[red]{count.errors:,}[/]" if count.errors else "0"
        table.add_row(name, f"{count.records:,}", errors)
    table.add_row("[bold]total", f"[bold]{report.records:,}", f"[bold]{report.error_count:,}")
    console.print(table)
    for colour, counts in (("red", report.errors), ("yellow", report.warnings)):
        for code, n in counts.items():
            say(f"[{colour}]{code}[/]: {n:,} - {verify.REASONS[code]}")
    if report.error_count:
        say(
            f"{report.error_count:,} of {report.records:,} records would fail training; fix the data or drop them "
            "with --write-clean OUT.json (--report R.json lists each one)."
        )
    else:
        console.print(f"[green]all {report.records:,} records ok[/] ({report.images:,} images checked)")


def render_stats(report: stats.StatsReport) -> None:
    data = report.to_json()
    columns = ("source", "records", "share", "images")
    table = new_table(f"stats {report.mix}", columns, right=columns[1:])
    for name, entry in data["by_source"].items():
        share = f"{100 * entry['records'] / max(1, report.records):.1f}%"
        table.add_row(name, f"{entry['records']:,}", share, f"{entry['images']:,}")
    console.print(table)
    say(
        f"{report.records:,} records: {report.with_image:,} with an image, {report.text_only:,} text-only, "
        f"{report.malformed:,} malformed; turns per record "
        f"{sum(report.turns) / max(1, len(report.turns)):.1f} on average"
    )
    if report.lengths:
        lengths, words = data["lengths"], data["modality_lengths"]
        say(
            f"sampler lengths: median {lengths['median']}, p95 {lengths['p95']}, max {lengths['max']} "
            f"(text-only modality lengths are negative: min {words['min']})"
        )
    if data.get("visual_tokens"):
        tokens = data["visual_tokens"]
        say(
            f"{len(report.sizes):,} images read ({report.unreadable:,} unreadable); anyres visual tokens "
            f"per image: median {tokens['median']}, p95 {tokens['p95']}, max {tokens['max']}"
        )


# --- serving ---


def render_index(report: index_stage.IndexReport) -> None:
    say(
        f"{report.path}: {report.records:,} records ({report.images:,} with an image, {report.text_only:,} "
        f"text-only), {human_bytes(report.bytes)}, built in {report.seconds:.1f}s"
    )


def render_pack(report: pack_stage.PackReport) -> None:
    columns = ("shards", "written", "reused", "failed", "records", "images", "size", "time")
    table = new_table(f"pack ({report.format}) -> {report.out_dir}", columns, right=columns)
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
        say(f"manifest: {report.manifest}")
    render_left_out(report)


def render_left_out(report: pack_stage.PackReport) -> None:
    """The first records pack left out (``--on-error skip``), each with verify's code; the manifest lists all."""
    for problem in report.problems[:10]:
        where = problem.path or ""
        why = f"{where} ({problem.detail})" if where and problem.detail else where or problem.detail
        err_console.print(
            f"[yellow]left out[/yellow] record {problem.index} (id {problem.id!r}): {problem.code} {escape(why)}",
            highlight=False,
        )
    if report.problems:
        err_console.print(f"{len(report.problems)} record(s) left out; all are listed in the manifest.")


def render_plan(plan: plan_mod.RunPlan) -> None:
    """The plan table, the totals per filesystem, and what is short."""
    columns = ("source", "state", "download", "to download", "lays out", "note")
    table = new_table("plan", columns, right=("to download",))
    for p in plan.sources:
        left = p.to_download
        table.add_row(
            p.name,
            p.state,
            _figure(p.download, p.download_from),
            "-" if left == 0 else _figure(left, p.download_from),
            _figure(p.extracted, p.extracted_from),
            escape(p.note),
        )
    console.print(table)
    unknown = f" (and {', '.join(plan.unknown)}, whose size nobody could tell)" if plan.unknown else ""
    say(f"to download: {human_bytes(plan.to_download)}{unknown}")
    for disk in plan.disks:
        peak, other = (disk.peak_keep, disk.peak) if plan.keep_archives else (disk.peak, disk.peak_keep)
        mode = "without" if plan.keep_archives else "with"
        say(
            f"{disk.path}: needs up to {human_bytes(peak)} at once ({human_bytes(other)} {mode} --keep-archives), "
            f"{human_bytes(disk.free)} free"
        )
    if not plan.fits:
        say(f"[red]{escape(plan.shortfall())}[/]")


def _figure(size: int | None, source: str) -> str:
    """A size and how it is known: ``≈`` marks an estimate or a published approximate figure."""
    if size is None:
        return "?"
    rough = source in ("approximate", "estimate")
    return ("≈" if rough else "") + human_bytes(size)
