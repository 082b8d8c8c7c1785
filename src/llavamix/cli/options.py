"""The options commands share, as decorators, and the checks of option values made before any work."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TypeVar

import click

from llavamix import ray as ray_engine
from llavamix.foundation.errors import LlavamixError
from llavamix.foundation.io import same_file
from llavamix.foundation.storage import Target, check_output, is_url, parse_storage_options
from llavamix.foundation.tasks import Engine, run_tasks

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


class PathOrUrl(click.ParamType):
    """A local path, checked as ``local`` checks it, or an fsspec URL (``s3://...``), passed on as text: the
    storage layer checks a URL when the command reaches it."""

    name = "path|url"

    def __init__(self, local: click.Path) -> None:
        self.local = local

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        return str(value) if is_url(str(value)) else self.local.convert(value, param, ctx)


def mix_argument(fn: F) -> F:
    path = click.Path(exists=True, dir_okay=False, path_type=Path)
    return click.argument("mix", type=PathOrUrl(path))(fn)


def out_option(folder: bool, help: str) -> Decorator:
    """``--out/-o``: the file (or, with ``folder``, the folder) a command writes; a path or a URL."""
    path = click.Path(file_okay=not folder, dir_okay=folder, path_type=Path)
    return click.option("--out", "-o", required=True, type=PathOrUrl(path), help=help)


def file_option(flag: str, dest: str, help: str) -> Decorator:
    """An optional output file, e.g. ``--html R.html``; a path or a URL."""
    return click.option(flag, dest, type=PathOrUrl(click.Path(dir_okay=False, path_type=Path)), help=help)


def storage_option(fn: F) -> F:
    """``--storage-option KEY=VALUE`` (repeatable): fsspec options for every URL the command reads or writes."""
    return click.option(
        "--storage-option",
        "storage_options",
        multiple=True,
        metavar="KEY=VALUE",
        callback=lambda _ctx, _param, pairs: _storage_options(pairs),
        help="An fsspec option for the URLs given (repeatable), e.g. anon=true or endpoint_url=http://host:9000.",
    )(fn)


def _storage_options(pairs: tuple[str, ...]) -> dict[str, Any]:
    try:
        return parse_storage_options(pairs)
    except LlavamixError as exc:
        raise click.BadParameter(str(exc)) from None


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


def mirror_option(fn: F) -> F:
    return click.option(
        "--no-mirror",
        "no_mirror",
        is_flag=True,
        help="OCR-VQA: ignore the catalog's mirror zip and crawl every image from its URL.",
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


def engine_option(fn: F) -> F:
    """``--engine local|ray`` and ``--ray-address ADDR``, handed to the command as one ``engine`` (an Engine):
    ``run_tasks``, or the Ray Data engine (``--jobs``, when the command has it, sizes a local Ray instance)."""

    @functools.wraps(fn)
    def command(*args: Any, engine: str, ray_address: str | None, **kwargs: Any) -> Any:
        return fn(*args, engine=chosen_engine(engine, ray_address, kwargs.get("jobs")), **kwargs)

    command = click.option(
        "--ray-address",
        default=None,
        metavar="ADDR",
        help="With --engine ray: the cluster to run on (ray://head:10001, auto) [default: a local Ray instance].",
    )(command)
    help_text = "Where the per-record, per-image and per-shard work runs: local processes, or Ray Data tasks."
    choice = click.Choice(["local", "ray"])
    return click.option("--engine", type=choice, default="local", show_default=True, help=help_text)(command)  # type: ignore[return-value]


def chosen_engine(name: str, ray_address: str | None, jobs: int | None) -> Engine:
    if name == "local" and ray_address is not None:
        raise click.BadParameter("--ray-address needs --engine ray", param_hint="'--ray-address'")
    return ray_engine.RayEngine(ray_address, jobs) if name == "ray" else run_tasks


def refuse_overwriting(mix: Target, outputs: Mapping[str, Target | None]) -> None:
    """Stop before any work when an output option names the input mix: writing it would destroy the input."""
    for flag, path in outputs.items():
        if path is not None and _same_target(path, mix):
            raise click.BadParameter(f"{path} is the mix itself; write to another file", param_hint=f"'{flag}'")


def _same_target(a: Target, b: Target) -> bool:
    if is_url(a) or is_url(b):
        return str(a).rstrip("/") == str(b).rstrip("/")
    return same_file(Path(a), Path(b))


def check_outputs(outputs: Mapping[str, Target | None], storage_options: dict[str, Any], folder: bool = False) -> None:
    """Stop before any work when an output URL cannot be written (no bucket, a folder where a file is wanted)."""
    for path in outputs.values():
        if path is not None:
            check_output(path, storage_options, folder=folder)
