"""The commands that check and describe a mix: ``verify`` and ``stats``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from llavamix import stats, verify
from llavamix.cli.exits import EXIT_PARTIAL, handle_errors
from llavamix.cli.options import (
    check_outputs,
    engine_option,
    existing_root_option,
    file_option,
    jobs_option,
    json_option,
    mix_argument,
    refuse_overwriting,
    storage_option,
)
from llavamix.cli.progress import bars
from llavamix.cli.render import print_json, render_stats, render_verify, say
from llavamix.foundation.tasks import Engine

HTML_HELP = "Write an HTML report."
WORKERS_HELP = "Worker processes [default: all cores]."


@click.command(name="verify")
@mix_argument
@existing_root_option()
@click.option("--deep", is_flag=True, help="Decode every image in full (catches truncated and corrupt files).")
@jobs_option(None, WORKERS_HELP)
@file_option("--report", "report_path", "Write the JSON report.")
@file_option("--html", "html_path", HTML_HELP)
@file_option("--write-clean", "clean_path", "Write the mix without the records that have an error.")
@click.option("--no-cache", is_flag=True, help="Decode every image again instead of reusing cached verdicts.")
@engine_option
@storage_option
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
    engine: Engine,
    storage_options: dict[str, Any],
) -> None:
    """Check that every record of MIX trains: record structure, and each image under ROOT (exit 3 on errors)."""
    outputs = {"--report": report_path, "--html": html_path, "--write-clean": clean_path}
    refuse_overwriting(mix, outputs)
    check_outputs(outputs, storage_options)
    with bars() as progress:
        profile = html_path is not None
        options = verify.VerifyOptions(
            deep=deep, jobs=jobs, cache=not no_cache, profile=profile, progress=progress, engine=engine,
            storage_options=storage_options,
        )  # fmt: skip
        report = verify.verify_mix(mix, root, options)
    render_verify(report)
    if report_path is not None:
        report.write_json(report_path, storage_options)
    if html_path is not None:
        verify.write_html(report, html_path, storage_options)
    if clean_path is not None:
        kept = verify.write_clean(mix, report, clean_path, storage_options)
        say(f"wrote {kept:,} error-free records to {clean_path}")
    if report.error_count:
        sys.exit(EXIT_PARTIAL)


@click.command(name="stats")
@mix_argument
@existing_root_option(required=False, help="The data root; with it, image sizes and visual tokens are reported too.")
@json_option("Print the stats as JSON.")
@file_option("--html", "html_path", HTML_HELP)
@jobs_option(None, WORKERS_HELP)
@engine_option
@storage_option
@handle_errors
def stats_cmd(
    mix: Path,
    root: Path | None,
    as_json: bool,
    html_path: Path | None,
    jobs: int | None,
    engine: Engine,
    storage_options: dict[str, Any],
) -> None:
    """Describe MIX: composition per source, turns, words as the training sampler counts them, image sizes."""
    refuse_overwriting(mix, {"--html": html_path})
    check_outputs({"--html": html_path}, storage_options)
    with bars() as progress:
        options = stats.StatsOptions(jobs=jobs, progress=progress, engine=engine, storage_options=storage_options)
        report = stats.compute_stats(mix, root, options)
    if html_path is not None:
        stats.write_html(report, html_path, storage_options)
    if as_json:
        print_json(report.to_json())
        return
    render_stats(report)


COMMANDS = (verify_cmd, stats_cmd)
