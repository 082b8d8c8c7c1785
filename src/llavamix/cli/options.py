"""The options commands share, as decorators, and the checks of option values made before any work."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from llavamix.foundation.io import same_file

F = TypeVar("F", bound=Callable[..., Any])
Decorator = Callable[[F], F]

ROOT_HELP = "The data root (the training scripts' --image_folder)."


def catalog_option(fn: F) -> F:
    return click.option(
        "--catalog",
        "catalog_spec",
        default="default",
        show_default=True,
        help="Catalog TOML path, or a built-in: default, sample.",
    )(fn)


def root_option(required: bool = True) -> Decorator:
    """``--root`` for commands that write under it, or only read what is there: it need not exist."""
    default = None if required else Path("data")
    path = click.Path(file_okay=False, path_type=Path)
    return click.option("--root", type=path, required=required, default=default, help=ROOT_HELP)


def existing_root_option(required: bool = True, help: str = ROOT_HELP) -> Decorator:
    """``--root`` for commands that read images under it: a missing folder is a mistake, not an empty root."""
    path = click.Path(exists=True, file_okay=False, path_type=Path)
    return click.option("--root", type=path, required=required, default=None, help=help)


def mix_argument(fn: F) -> F:
    return click.argument("mix", type=click.Path(exists=True, dir_okay=False, path_type=Path))(fn)


def out_option(folder: bool, help: str) -> Decorator:
    """``--out/-o``: the file (or, with ``folder``, the folder) a command writes."""
    path = click.Path(file_okay=not folder, dir_okay=folder, path_type=Path)
    return click.option("--out", "-o", required=True, type=path, help=help)


def file_option(flag: str, dest: str, help: str) -> Decorator:
    """An optional output file, e.g. ``--html R.html``."""
    return click.option(flag, dest, type=click.Path(dir_okay=False, path_type=Path), help=help)


def json_option(help: str = "Print JSON instead of a table.") -> Decorator:
    return click.option("--json", "as_json", is_flag=True, help=help)


def jobs_option(default: int | None, help: str) -> Decorator:
    """``--jobs/-j N`` (at least 1); ``default=None`` lets the library pick (all cores)."""
    return click.option(
        "--jobs", "-j", type=click.IntRange(1), default=default, show_default=default is not None, help=help
    )


def downloads_option(fn: F) -> F:
    return click.option(
        "--downloads",
        type=click.Path(file_okay=False, path_type=Path),
        default=None,
        help="Folder for downloaded archives [default: ROOT/.llavamix/downloads].",
    )(fn)


def all_option(fn: F) -> F:
    return click.option(
        "--all",
        "all_keys",
        is_flag=True,
        help="OCR-VQA: crawl every image of dataset.json, not only those the mix JSON references.",
    )(fn)


def connections_options(fn: F) -> F:
    """``--connections N`` (per file) and ``--max-connections N`` (in all), for the commands that download."""
    fn = count_option("--max-connections", 16, "Connections open at once over all downloads.")(fn)
    return count_option("--connections", 8, "Connections one file is fetched over, if its server allows (1: one).")(fn)


def count_option(flag: str, default: int, help: str) -> Decorator:
    return click.option(flag, type=click.IntRange(1), default=default, show_default=True, help=help)


def acquire_options(fn: F) -> F:
    """What ``fetch`` and ``prepare`` share: the NAMES to acquire, ``--catalog``, ``--root``, ``--jobs`` and
    ``--downloads``, in that order."""
    shared: tuple[Decorator, ...] = (
        click.argument("names", nargs=-1),
        catalog_option,
        root_option(),
        jobs_option(4, "Sources downloading at once."),
        downloads_option,
    )
    for option in reversed(shared):  # as if stacked above ``fn``, the first on top
        fn = option(fn)
    return fn


def refuse_overwriting(mix: Path, outputs: dict[str, Path | None]) -> None:
    """Stop before any work when an output option names the input mix: writing it would destroy the input."""
    for flag, path in outputs.items():
        if path is not None and same_file(path, mix):
            raise click.BadParameter(f"{path} is the mix itself; write to another file", param_hint=f"'{flag}'")
