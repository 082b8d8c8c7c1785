"""Running the ``llavamix`` CLI from a benchmark as a user runs it: a fresh process, byte code already compiled
(as ``pip install`` leaves it), start-up included in the time."""

from __future__ import annotations

import compileall
import subprocess
import sys
import time
from pathlib import Path

import llavamix


def compile_package() -> None:
    """Write the package's byte code once (an editable install, or PYTHONDONTWRITEBYTECODE, may lack it)."""
    compileall.compile_dir(Path(llavamix.__file__).parent, quiet=1)


def one_source_catalog(path: Path, name: str, url: str, size: int, **extra: str) -> Path:
    """A catalog TOML of one source, checked by its size only."""
    lines = [f'name = "{name}"', f'url = "{url}"', f"size = {size}"] + [f'{k} = "{v}"' for k, v in extra.items()]
    path.write_text("[[source]]\n" + "\n".join(lines) + "\n")
    return path


def timed_cli(*args: str | Path) -> float:
    """Seconds one ``llavamix ARGS`` process takes, start to exit."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "llavamix", *map(str, args)], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start
