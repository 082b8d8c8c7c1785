"""Fixtures for end-to-end acquisition tests: the sample catalog served over loopback HTTP."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from llavamix.catalog.schema import catalog_path
from tests.httpserver import LoopbackServer

SAMPLE_TOML = catalog_path("sample")
SAMPLE_DIR = SAMPLE_TOML.parent / "sample"


@pytest.fixture
def sample_server() -> Iterator[LoopbackServer]:
    with LoopbackServer(root=SAMPLE_DIR) as srv:
        yield srv


def http_catalog(tmp: Path, server: LoopbackServer, toml: Path = SAMPLE_TOML) -> Path:
    """A copy of ``toml`` whose relative ``file:sample/...`` URLs (``url``, ``mirror``) point at ``server`` instead."""
    text = re.sub(r'(url|mirror) = "file:sample/', rf'\1 = "{server.base}/', toml.read_text())
    out = tmp / "http-catalog.toml"
    out.write_text(text)
    return out


def run_cli(*args: str | Path, check: bool = False) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "llavamix", *map(str, args)]
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "COLUMNS": "200"})
    if check and proc.returncode != 0:
        raise AssertionError(f"{cmd} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def tree_digest(root: Path) -> dict[str, str]:
    """Relative path -> sha256 (files) or '->target' (symlinks) for everything under root but llavamix's state."""
    out: dict[str, str] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith(".llavamix"):
            continue
        if path.is_symlink():
            out[rel] = "->" + str(path.readlink())
        elif path.is_file():
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out
