"""One writer per folder: an exclusive lock (``flock``) on a file that names its holder (pid, command, since when).

The kernel drops a flock when the process holding it dies, however it dies, so a lock left by ``kill -9`` is free
again at once: there is no stale-lock guessing, and the file itself may stay. Locks are advisory and local: a
folder shared over NFS between machines is not protected against a run on another machine.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shlex
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from llavamix.foundation.errors import ConfigError, InUseError

HOLDER_WAIT = 1.0  # seconds a refused run waits for a holder that has the lock but has not written its name yet

_held: set[int] = set()  # descriptors of the locks this process holds, closed in forked children
_fork_hook = False


@dataclass(frozen=True)
class Holder:
    """Who holds a lock, as its lock file says."""

    pid: int
    command: str
    since: str  # local time the lock was taken, ISO 8601

    def describe(self) -> str:
        return f"pid {self.pid} ({self.command}), running since {self.since}"

    @classmethod
    def me(cls) -> Holder:
        since = datetime.now().astimezone().isoformat(timespec="seconds")
        return cls(os.getpid(), shlex.join(sys.orig_argv), since)


@contextlib.contextmanager
def hold(path: Path, what: str) -> Iterator[None]:
    """Hold the lock file ``path`` for the block; InUseError naming the holder when another run has it.

    ``what`` names the locked thing in messages (``"data root data"``). Never waits: a second writer is refused.
    """
    fd = _open(path, what)
    try:
        _acquire(fd, path, what)
        _write_holder(fd, Holder.me())
        _remember(fd)
        yield
    finally:
        _held.discard(fd)
        os.close(fd)  # releases the lock


def holder(path: Path) -> Holder | None:
    """The holder named in the lock file ``path`` (the last one, when nobody holds it now); None if unnamed."""
    try:
        return _parse(path.read_bytes())
    except OSError:
        return None


def _open(path: Path, what: str) -> int:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)  # never truncates: the holder's name stays readable
    except OSError as exc:
        raise ConfigError(
            f"cannot create the lock file {path} of the {what}: {exc.strerror or exc}; choose a folder you can write to"
        ) from None


def _acquire(fd: int, path: Path, what: str) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise InUseError(_in_use(fd, path, what)) from None


def _in_use(fd: int, path: Path, what: str) -> str:
    found = _read_holder(fd)
    if found is None:
        who, stop = f"a run that has not written its name into {path} yet", "stop it"
    else:
        who, stop = found.describe(), f"stop it (Ctrl-C where it runs, or kill {found.pid})"
    return (
        f"the {what} is in use by another llavamix run: {who}. Two runs on one folder would corrupt each other's "
        f"files; wait for it to finish or {stop}, then rerun: a stopped run's work is kept and resumed"
    )


def _read_holder(fd: int) -> Holder | None:
    """The holder's name; it writes it just after taking the lock, so an empty file gets a moment to fill."""
    deadline = time.monotonic() + HOLDER_WAIT
    while True:
        found = _parse(os.pread(fd, 1 << 16, 0))
        if found is not None or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def _parse(data: bytes) -> Holder | None:
    try:
        fields = json.loads(data)
        return Holder(int(fields["pid"]), str(fields["command"]), str(fields["since"]))
    except (ValueError, TypeError, KeyError):
        return None


def _write_holder(fd: int, me: Holder) -> None:
    data = (json.dumps(asdict(me)) + "\n").encode("utf-8")
    os.ftruncate(fd, 0)
    os.pwrite(fd, data, 0)


def _remember(fd: int) -> None:
    """Track ``fd`` so that forked children (process-pool workers) close their copy: a flock lives as long as any
    copy of its descriptor, and a worker outliving a killed parent would otherwise keep the folder locked."""
    global _fork_hook
    if not _fork_hook and hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_close_in_child)
        _fork_hook = True
    _held.add(fd)


def _close_in_child() -> None:
    for fd in list(_held):
        with contextlib.suppress(OSError):
            os.close(fd)
    _held.clear()
