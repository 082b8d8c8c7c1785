"""The commands that serve a mix to training: ``index`` and ``pack``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Literal

import click

from llavamix import index as index_stage
from llavamix import pack as pack_stage
from llavamix.cli.exits import EXIT_PARTIAL, handle_errors
from llavamix.cli.failures import print_failures
from llavamix.cli.options import (
    check_outputs,
    engine_option,
    existing_root_option,
    jobs_option,
    mix_argument,
    out_option,
    refuse_overwriting,
    storage_option,
)
from llavamix.cli.progress import bars
from llavamix.cli.render import render_index, render_pack
from llavamix.foundation.errors import LlavamixError
from llavamix.foundation.tasks import Engine

ON_ERROR_HELP = (
    "A record that cannot be packed (any error of verify's quick checks: bad roles, turns not alternating, "
    "image missing, empty, not a regular file or outside the root, ...): stop before writing "
    "anything, or leave it out and list it in the manifest."
)


@click.command(name="index")
@mix_argument
@out_option(folder=False, help="The index file to write, e.g. MIX.idx.")
@jobs_option(2, "Processes that decode records while one writes.")
@storage_option
@handle_errors
def index_cmd(mix: Path, out: Path, jobs: int, storage_options: dict[str, Any]) -> None:
    """Build a compact memory-mapped index of MIX: instant open, shared pages, the sampler's lengths."""
    refuse_overwriting(mix, {"--out": out})
    check_outputs({"--out": out}, storage_options)
    with bars() as progress:
        options = index_stage.IndexOptions(jobs=jobs, progress=progress, storage_options=storage_options)
        report = index_stage.build_index(mix, out, options)
    render_index(report)


def parse_shard_size(text: str) -> pack_stage.ShardSize:
    try:
        return pack_stage.ShardSize.parse(text)
    except LlavamixError as exc:
        raise click.BadParameter(str(exc)) from None


@click.command(name="pack")
@mix_argument
@existing_root_option()
@out_option(folder=True, help="Folder that receives the shards and the manifest.")
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
@click.option("--on-error", type=click.Choice(["fail", "skip"]), default="fail", show_default=True, help=ON_ERROR_HELP)
@engine_option
@storage_option
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
    engine: Engine,
    storage_options: dict[str, Any],
) -> None:
    """Pack MIX and its images into WebDataset or Parquet shards; resumable, the manifest is written last."""
    check_outputs({"--out": out}, storage_options, folder=True)
    with bars() as progress:
        options = pack_stage.PackOptions(
            format=fmt, shard_size=size, name=name, jobs=jobs, on_error=on_error, progress=progress, engine=engine,
            storage_options=storage_options,
        )  # fmt: skip
        report = pack_stage.pack_mix(mix, root, out, options)
    render_pack(report)
    print_failures(report.failed)
    if not report.ok:
        sys.exit(EXIT_PARTIAL)


COMMANDS = (index_cmd, pack_cmd)
