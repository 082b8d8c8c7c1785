"""The ``mix`` commands: ``mix build`` (a recipe into a new mix, verified and optionally indexed)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from llavamix import mixrun
from llavamix.cli.exits import EXIT_PARTIAL, handle_errors
from llavamix.cli.options import downloads_option, jobs_option, out_option
from llavamix.cli.progress import bars
from llavamix.cli.render import console, new_table, render_index, render_verify, say
from llavamix.mix import BuildReport


@click.group(name="mix")
def mix_group() -> None:
    """Make your own mix: select, cap, weight, filter and deduplicate LLaVA-format inputs."""


@mix_group.command(name="build")
@click.argument("recipe", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@out_option(folder=False, help="The new mix JSON; NEW.manifest.json and NEW.provenance.jsonl land beside it.")
@click.option(
    "--index",
    "index_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also write the training index of the new mix here (e.g. NEW.idx).",
)
@click.option(
    "--verify/--no-verify",
    default=True,
    show_default=True,
    help="Verify the new mix under the recipe's root (report: NEW.verify.json).",
)
@jobs_option(None, "Processes that read the inputs and verify the new mix [default: all cores].")
@downloads_option
@handle_errors
def build_cmd(
    recipe: Path, out: Path, index_path: Path | None, verify: bool, jobs: int | None, downloads: Path | None
) -> None:
    """Build a new mix from RECIPE.toml (inputs, [[select]], [filter], [dedup]): same recipe, same bytes."""
    with bars() as progress:
        options = mixrun.MixRunOptions(index_path, verify, jobs, downloads, progress)
        report = mixrun.build(recipe, out, options)
    render_build(report.build)
    if report.verify is not None:
        render_verify(report.verify)
        say(f"verify report: {report.verify_path}")
    if report.index is not None:
        render_index(report.index)
    if not report.ok:
        sys.exit(EXIT_PARTIAL)


def render_build(report: BuildReport) -> None:
    columns = ("records", "after filter", "after dedup", "out")
    table = new_table(f"mix build -> {report.out}", ("input", *columns), right=columns)
    for item in report.inputs:
        table.add_row(item.name, *(f"{n:,}" for n in (item.records, item.after_filter, item.after_dedup, item.out)))
    console.print(table)
    table = new_table("selects (first match wins)", ("select", "matched", *columns[1:]), right=columns)
    for sel in report.selects:
        table.add_row(sel.label, *(f"{n:,}" for n in (sel.matched, sel.after_filter, sel.after_dedup, sel.out)))
    console.print(table)
    for what, counts in (("filtered out", report.filtered), ("duplicates left out", report.duplicates)):
        if counts:
            say(f"{what}: " + ", ".join(f"{k} {n:,}" for k, n in counts.items()))
    if report.unreadable_images:
        say(f"{report.unreadable_images:,} images could not be read for dedup; their records were kept")
    say(f"{report.records:,} records -> {report.out}")
    say(f"manifest: {report.manifest}; provenance: {report.provenance}")


COMMANDS = (mix_group,)
