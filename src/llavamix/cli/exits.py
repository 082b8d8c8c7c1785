"""How a command ends: the exit codes, and library errors and stop requests turned into one line and an exit."""

from __future__ import annotations

import atexit
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping
from functools import wraps
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from llavamix.cli.failures import print_error
from llavamix.cli.render import err_console
from llavamix.foundation.errors import LlavamixError
from llavamix.foundation.tasks import Cancelled

# Exit codes (DESIGN.md): 0 all good, 1 error, 2 usage, 3 finished with failed sources or records; after a stop
# request 128 + the signal, as shells report it: 130 after Ctrl-C, 143 after SIGTERM.
EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_PARTIAL = 0, 1, 2, 3
# the options of a command that name places it writes: where a full disk is looked for when the error names none
WRITTEN_PLACES = ("root", "downloads", "out", "report_path", "html_path", "clean_path")

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])


def handle_errors(fn: F) -> F:
    """Turn library configuration errors and OS errors into a one-line message and exit code 1, and a stop
    request (Ctrl-C, SIGTERM) into a line saying how to resume and exit code 128 + the signal."""

    @wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (LlavamixError, OSError) as exc:
            # an unwritable, missing or full place the user named is not a bug; -vv still logs where it happened
            log.debug("stopped by an error", exc_info=True)
            print_error(exc, written_places(kwargs), downloads="downloads" in kwargs)
            sys.exit(EXIT_ERROR)
        except (KeyboardInterrupt, Cancelled) as exc:
            exit_stopped(getattr(exc, "signum", signal.SIGINT))

    return wrapper  # type: ignore[return-value]


def written_places(options: Mapping[str, Any]) -> list[Path]:
    return [Path(options[k]) for k in WRITTEN_PLACES if options.get(k) is not None]


def exit_stopped(signum: int) -> NoReturn:
    """After Ctrl-C or SIGTERM: say that the work is kept and how to resume; exit 128 + the signal."""
    name = "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name
    err_console.print(
        f"[yellow]stopped[/yellow] by {name}: finished work and partial downloads are kept; rerun the same "
        "command to resume",
        highlight=False,
        soft_wrap=True,
    )
    code = 128 + signum
    if any(t.is_alive() and not t.daemon for t in threading.enumerate() if t is not threading.main_thread()):
        # a second interrupt cut the wind-down short: exit now rather than wait at exit for the stragglers (what
        # they leave is what a kill leaves, which every stage resumes from)
        _flush_and_leave(code)
    sys.exit(code)


def stop_on_signal(signum: int, _frame: object) -> None:
    """SIGTERM's handler: take Ctrl-C's path (work in flight stops at its next check, finished work is kept)."""
    raise Cancelled(signum)


def exit_now(code: str | int | None) -> NoReturn:
    """End the process with ``code`` (a ``SystemExit`` code) as the interpreter would, less its module by module
    teardown, which costs this command line some 30-40 ms of its imports' worth, more than what most commands do
    after start-up: threads are joined and exit hooks run as at any exit, stdout and stderr flushed (a reader gone
    is exit code 120, as Python's own exit says), then ``os._exit``. Files are closed by then: every stage writes
    through ``with`` blocks and makes its outputs durable before it reports them."""
    shutdown = getattr(threading, "_shutdown", None)  # what the interpreter's exit calls: joins non-daemon threads
    run_hooks = getattr(atexit, "_run_exitfuncs", None)
    if shutdown is None or run_hooks is None or sys.getprofile() or sys.gettrace():
        # another Python, or a profiler, debugger or coverage tracer that writes its results after the program
        # returns: the ordinary exit
        sys.exit(code)
    if code is None:
        status = EXIT_OK
    elif isinstance(code, int):
        status = code
    else:  # sys.exit("message"): the message goes to stderr, the status is 1
        print(code, file=sys.stderr)
        status = EXIT_ERROR
    shutdown()
    run_hooks()
    _flush_and_leave(status)


def _flush_and_leave(status: int) -> NoReturn:
    """Flush stdout and stderr, then end the process at once with ``status`` (120 instead of 0 when the output
    could not be written out, as Python's own exit says)."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe, a closed stream
            status = status or 120
    os._exit(status)
