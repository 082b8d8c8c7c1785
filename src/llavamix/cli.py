"""The ``llavamix`` command line: parses options, calls the library, renders its reports, picks the exit code."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click
from rich.console import Console

from llavamix import __version__
from llavamix.errors import LlavamixError

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


# --- verify and stats commands ---


# --- index and pack commands ---


def main() -> None:
    cli()
