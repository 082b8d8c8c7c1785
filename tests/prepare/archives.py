"""Catalogs of plain zip sources served by a loopback server, for tests of how ``prepare`` overlaps downloads and
extractions: each source ``NAME`` is ``/NAME.zip`` (a few stored files of random bytes) landing in ``ROOT/NAME``,
with its size and sha256 in the catalog."""

from __future__ import annotations

import hashlib
import io
import random
import threading
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

from llavamix.foundation.layout import Layout
from llavamix.foundation.tasks import Progress
from tests.httpserver import Fault, LoopbackServer

FILES = 4  # members per archive
STEP = 64 << 10  # bytes a throttled answer sends per trickle
TRICKLE = 0.02  # seconds between a throttled answer's steps: about 3 MB/s per connection
WITHIN = 60  # seconds: what a test waits for must happen by then (it takes about one on an idle machine)


def archive(name: str, size: int) -> bytes:
    """A stored zip of FILES members of random bytes, ``size`` bytes of data in all (incompressible, as images)."""
    rng = random.Random(name)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for i in range(FILES):
            zf.writestr(f"{name}/{i}.jpg", rng.randbytes(size // FILES))
    return buf.getvalue()


def archives_catalog(tmp: Path, server: LoopbackServer, names: Sequence[str], size: int = 1 << 20) -> Path:
    """A catalog of one zip source per name, each served by ``server``; returns its path."""
    tables = []
    for name in names:
        data = archive(name, size)
        url = server.add(f"/{name}.zip", data)
        tables.append(
            f'[[source]]\nname = "{name}"\nurl = "{url}"\nsize = {len(data)}\n'
            f'sha256 = "{hashlib.sha256(data).hexdigest()}"\narchive = "zip"\ninto = "{name}"\n'
        )
    out = tmp / "archives.toml"
    out.write_text("\n".join(tables))
    return out


def throttle(server: LoopbackServer, *names: str) -> None:
    """Serve the archives of ``names`` at TRICKLE's pace, on every connection."""
    for name in names:
        server.fault(f"/{name}.zip", Fault(trickle=TRICKLE, trickle_chunk=STEP, repeat=True))


def hold(server: LoopbackServer, name: str) -> Fault:
    """Stop every answer for ``name``'s archive after its first STEP bytes until the fault's ``resume`` is set
    (every connection of a download spread over several is held alike)."""
    held = Fault(hold_after=STEP, trickle=TRICKLE, trickle_chunk=STEP, repeat=True)
    server.fault(f"/{name}.zip", held)
    return held


def laid_out(root: Path, name: str) -> bool:
    """``name``'s extraction is finished: its marker, written last, is there."""
    return Layout(root).marker(name, "extract").exists()


def ended(server: LoopbackServer, name: str) -> bool:
    """Some answer for ``name``'s archive ended (its download may have every byte)."""
    return any(seen.ended.is_set() for seen in server.gets(f"/{name}.zip"))


class Watch(Progress):
    """Counts the bars of each phase running at once, and can keep a source's extraction from starting until
    something has happened (``hold``): its bar starts once its download is complete, whatever the bar is called."""

    def __init__(self, root: Path) -> None:
        self.layout = Layout(root)
        self.lock = threading.Lock()
        self.running: Counter[str] = Counter()
        self.most: Counter[str] = Counter()
        self.started: set[str] = set()
        self.holds: dict[str, tuple[Callable[[], bool], Callable[[], object]]] = {}
        self.waited: dict[str, bool] = {}

    def hold(self, name: str, until: Callable[[], bool], then: Callable[[], object] = lambda: None) -> None:
        """Keep ``name``'s extraction from starting until ``until()``; ``then()`` runs as it starts waiting."""
        self.holds[name] = (until, then)

    def start(self, key: str, total: int | None, unit: str = "B", *, completed: int = 0) -> None:
        phase, name = key.split()[0], key.split()[-1]
        with self.lock:
            self.started.add(key)
            self.running[phase] += 1
            self.most[phase] = max(self.most[phase], self.running[phase])
        held = self.holds.get(name)
        if held is not None and self.layout.marker(name, "fetch").exists():  # not its download's bar
            del self.holds[name]
            held[1]()
            self.waited[name] = _wait(held[0])

    def finish(self, key: str) -> None:
        with self.lock:
            self.running[key.split()[0]] -= 1


def _wait(condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + WITHIN
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True
