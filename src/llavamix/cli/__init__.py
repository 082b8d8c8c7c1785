"""The ``llavamix`` command line: parses options, calls the library, renders its reports, picks the exit code.

The only package that prints or exits; it may import every other part of llavamix, and nothing imports it. One
module per concern: ``options`` (the shared options), ``progress`` (the library's Progress as rich bars),
``render`` (one renderer per library report), ``failures`` (how any failure reads, printed from one place for
every command), ``exits`` (exit codes, errors and stop requests), and the commands by what they do: ``acquire``
(sources, status, fetch, prepare), ``check`` (verify, stats), ``serve`` (index, pack), ``browse`` (browse),
``mixes`` (mix build).
"""

from __future__ import annotations

import logging
import signal

import click

from llavamix import __version__
from llavamix.cli import acquire, browse, check, mixes, serve
from llavamix.cli.exits import EXIT_ERROR, EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, exit_now, stop_on_signal
from llavamix.cli.failures import describe_os_error

__all__ = ["EXIT_ERROR", "EXIT_OK", "EXIT_PARTIAL", "EXIT_USAGE", "cli", "describe_os_error", "main"]


@click.group(
    commands=[*acquire.COMMANDS, *check.COMMANDS, *serve.COMMANDS, *browse.COMMANDS, *mixes.COMMANDS],
    context_settings={"help_option_names": ["-h", "--help"]},
)
@click.version_option(__version__, prog_name="llavamix")
@click.option("-v", "--verbose", count=True, help="Log more (-v info, -vv debug).")
def cli(verbose: int) -> None:
    """Prepare the Open-LLaVA-NeXT training data: acquire, verify, describe, serve."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


def main() -> None:
    # SIGTERM takes Ctrl-C's path: work in flight stops at its next check, finished work is kept, exit 143
    signal.signal(signal.SIGTERM, stop_on_signal)
    try:
        cli()  # click ends every run with SystemExit
    except SystemExit as exc:
        exit_now(exc.code)
