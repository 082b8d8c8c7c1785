"""The acquisition commands: ``sources``, ``status``, ``fetch`` and ``prepare``."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import click

from llavamix import fetch
from llavamix import prepare as prepare_mod
from llavamix.catalog import load_catalog
from llavamix.cli.exits import EXIT_PARTIAL, handle_errors
from llavamix.cli.failures import print_failures
from llavamix.cli.options import (
    acquire_options,
    all_option,
    catalog_option,
    connections_options,
    json_option,
    mirror_option,
    root_option,
)
from llavamix.cli.progress import bars
from llavamix.cli.render import print_group_sizes, print_status, render_fetch, render_plan, render_prepare
from llavamix.foundation.layout import Layout


@click.command()
@catalog_option
@root_option(required=False)
@json_option()
@handle_errors
def sources(catalog_spec: str, root: Path, as_json: bool) -> None:
    """List the catalog's sources: size, target folder and whether they are present under ROOT."""
    catalog = load_catalog(catalog_spec)
    print_status(prepare_mod.source_status(catalog, root), as_json, f"sources ({catalog.path.name})")
    if not as_json:
        print_group_sizes(catalog.group_sizes())


@click.command()
@catalog_option
@root_option()
@json_option()
@handle_errors
def status(catalog_spec: str, root: Path, as_json: bool) -> None:
    """Show each source under ROOT as present, partial or missing, with image counts."""
    catalog = load_catalog(catalog_spec)
    print_status(prepare_mod.source_status(catalog, root), as_json, f"status of {root}")


@click.command(name="fetch")
@acquire_options
@connections_options
@all_option
@mirror_option
@handle_errors
def fetch_cmd(
    names: tuple[str, ...],
    catalog_spec: str,
    root: Path,
    jobs: int,
    downloads: Path | None,
    connections: int,
    max_connections: int,
    all_keys: bool,
    no_mirror: bool,
) -> None:
    """Download and checksum sources (NAMES or groups; default all) without extracting them.

    Sources already laid out under ROOT by ``prepare`` are skipped.
    """
    catalog = load_catalog(catalog_spec)
    with bars() as progress:
        crawl = fetch.CrawlOptions(all_keys=all_keys, mirror=not no_mirror)
        options = replace(fetch_options(connections, max_connections, crawl), jobs=jobs, progress=progress)
        report, laid_out = prepare_mod.fetch_missing(catalog, list(names), Layout(root, downloads), options)
    render_fetch(report, laid_out, root)
    print_failures(report.failed)
    if report.failed:
        sys.exit(EXIT_PARTIAL)


@click.command(name="prepare")
@acquire_options
@click.option(
    "--extract-jobs",
    type=click.IntRange(1),
    default=2,
    show_default=True,
    help="Extractions at once, besides the --jobs downloads.",
)
@connections_options
@click.option("--keep-archives", is_flag=True, help="Keep downloaded archives after extraction.")
@click.option("--deep", is_flag=True, help="Decode every image in the final verify (slower).")
@all_option
@mirror_option
@click.option("--plan", "plan_only", is_flag=True, help="Show the plan (sizes, disk need, free space) and stop.")
@click.option(
    "--no-space-check", is_flag=True, help="Run even where the plan says the disk is too small (it is an estimate)."
)
@handle_errors
def prepare_cmd(
    names: tuple[str, ...],
    catalog_spec: str,
    root: Path,
    jobs: int,
    downloads: Path | None,
    extract_jobs: int,
    connections: int,
    max_connections: int,
    keep_archives: bool,
    deep: bool,
    all_keys: bool,
    no_mirror: bool,
    plan_only: bool,
    no_space_check: bool,
) -> None:
    """Fetch, extract and lay out sources (NAMES or groups; default all), then verify the mix.

    Idempotent: safe to kill and rerun; finished sources are skipped. Starts with the plan: sizes, disk need and
    free space; stops before downloading when the disk is too small.
    """
    catalog = load_catalog(catalog_spec)
    crawl = fetch.CrawlOptions(all_keys=all_keys, mirror=not no_mirror)
    options = prepare_mod.PrepareOptions(
        jobs=jobs,
        extract_jobs=extract_jobs,
        downloads=downloads,
        keep_archives=keep_archives,
        deep=deep,
        fetch=fetch_options(connections, max_connections, crawl),
        check_space=not no_space_check,
    )
    plan = prepare_mod.plan_prepare(catalog, list(names), root, options)
    render_plan(plan)
    if plan_only:
        return
    with bars() as progress:
        report = prepare_mod.prepare(catalog, list(names), root, replace(options, progress=progress), plan)
    render_prepare(report)
    print_failures(report.failures)
    if not report.ok:
        sys.exit(EXIT_PARTIAL)


def fetch_options(connections: int, max_connections: int, crawl: fetch.CrawlOptions) -> fetch.FetchOptions:
    """What ``fetch`` and ``prepare`` tell the fetch stage alike."""
    return fetch.FetchOptions(connections=connections, max_connections=max_connections, crawl=crawl)


COMMANDS = (sources, status, fetch_cmd, prepare_cmd)
