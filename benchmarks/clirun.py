"""Running the ``llavamix`` CLI from a benchmark as a user runs it: a fresh process, from compiled bytecode (as an
installed package runs), start-up included in the time."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

LLAVAMIX = [sys.executable, "-m", "llavamix"]


def bytecode_env(work: Path) -> dict[str, str]:
    """The environment with compiled bytecode cached under ``work`` (even where PYTHONDONTWRITEBYTECODE is set),
    filled by untimed starts."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    warm = "import llavamix.cli, llavamix.cli.acquire, llavamix.fetch.sources, llavamix.fetch.http, llavamix.extract"
    for cmd in ([*LLAVAMIX, "--help"], [sys.executable, "-c", warm]):
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
    return env


def one_source_catalog(path: Path, name: str, url: str, size: int, **extra: str) -> Path:
    """A catalog TOML of one source: its size, and ``extra`` keys (a checksum, ``archive``, ``into``...)."""
    lines = [f'name = "{name}"', f'url = "{url}"', f"size = {size}"] + [f'{k} = "{v}"' for k, v in extra.items()]
    path.write_text("[[source]]\n" + "\n".join(lines) + "\n")
    return path


def timed_cli(env: dict[str, str], *args: str | Path) -> float:
    """Seconds one ``llavamix ARGS`` process takes, start to exit."""
    start = time.perf_counter()
    subprocess.run([*LLAVAMIX, *map(str, args)], check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start
