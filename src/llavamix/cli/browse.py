"""The command that shows a mix to a person: ``browse``, a local read-only web app over its index."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from llavamix import browse as browse_app
from llavamix.cli.exits import handle_errors
from llavamix.cli.options import existing_root_option, mix_argument
from llavamix.cli.progress import bars
from llavamix.foundation.tasks import Cancelled

TEMPLATE_HELP = (
    "Conversation template record pages render the prompt with (the training script's --version: v1, "
    "llava_llama_3, plain, ...) [default: the loader's, v1]; each page can switch."
)


@click.command(name="browse")
@mix_argument
@existing_root_option(help="The data root the mix's image paths are relative to (read, never written).")
@click.option(
    "--report",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="A verify report of MIX (llavamix verify --report): filter by problem code, problems on record pages.",
)
@click.option(
    "--port", type=click.IntRange(0, 65535), default=8765, show_default=True, help="Port on 127.0.0.1 (0: any free)."
)
@click.option("--template", default=None, help=TEMPLATE_HELP)
@click.option(
    "--cache",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder for the index when MIX has none beside it (MIX.idx) [default: $XDG_CACHE_HOME/llavamix/browse]; "
    "never under the root.",
)
@handle_errors
def browse_cmd(mix: Path, root: Path, report: Path | None, port: int, template: str | None, cache: Path | None) -> None:
    """Browse MIX in a web browser: a paged list with filters, each record with its image and conversation, a
    summary with the stats plots. Local (127.0.0.1) and read-only; Ctrl-C stops it."""
    with bars() as progress:
        options = browse_app.BrowseOptions(report=report, cache=cache, progress=progress)
        if template is not None:  # else the library's default, so that listing commands need not import the loader
            options = dataclasses.replace(options, template=template)
        browser = browse_app.open_browser(mix, root, options)
    server = browse_app.make_server(browser, port)
    how = "built now" if browser.built_index else "found"
    click.echo(f"index {browser.index.path} ({how}, {len(browser.index):,} records)")
    click.echo(f"browsing {mix} at {server.url}  (Ctrl-C stops)")
    try:
        server.serve_forever()
    except (KeyboardInterrupt, Cancelled):
        pass  # stopping is how a browse session ends: nothing was being written
    finally:
        server.server_close()
    click.echo("browse stopped")


COMMANDS = (browse_cmd,)
