"""Failures as every command prints them: one source's failure reads the same in ``fetch`` and ``prepare``, and a
configuration error found while a source runs stops the whole command (exit 1) instead of failing one source."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.httpserver import Fault, LoopbackServer
from tests.prepare.conftest import SAMPLE_DIR, http_catalog, run_cli

COCO = "/coco/train2017.zip"


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with LoopbackServer(root=SAMPLE_DIR) as srv:
        yield srv


def failure_block(stderr: str) -> list[str]:
    """The lines from the first ``failed NAME: ...`` to the end: what the command says about its failures."""
    lines = stderr.splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith("failed "))
    return lines[first:]


def test_fetch_and_prepare_print_a_failed_source_alike(tmp_path: Path, server: LoopbackServer) -> None:
    server.fault(COCO, Fault(status=404, repeat=True))
    catalog, root = http_catalog(tmp_path, server), tmp_path / "data"
    fetched = run_cli("fetch", "coco", "--catalog", catalog, "--root", root)
    prepared = run_cli("prepare", "coco", "--catalog", catalog, "--root", root)
    assert (fetched.returncode, prepared.returncode) == (3, 3), prepared.stderr
    said = failure_block(fetched.stderr)
    assert said[0].startswith("failed coco: ") and "404" in said[0], said
    assert said[-1] == "Fix the above and rerun the same command: finished work is kept."
    assert failure_block(prepared.stderr) == said


def test_a_configuration_error_inside_a_source_stops_the_run(tmp_path: Path, server: LoopbackServer) -> None:
    catalog = tmp_path / "catalog.toml"
    catalog.write_text(
        '[[source]]\nname = "drive"\ntitle = "a Drive file"\nurl = "gdrive://not*an*id"\nfilename = "d.zip"\n'
        'archive = "zip"\ninto = "drive"\n\n'
        f'[[source]]\nname = "coco"\ntitle = "COCO"\nurl = "{server.url(COCO)}"\narchive = "zip"\ninto = "coco"\n'
    )
    proc = run_cli("prepare", "--catalog", catalog, "--root", tmp_path / "data", "--jobs", "1")
    assert proc.returncode == 1, proc.stderr
    assert "error: 'gdrive://not*an*id' is not a Drive link; write gdrive://<file-id>" in proc.stderr
    assert "failed " not in proc.stderr, "not counted as one source's failure"
    assert server.requests == [], "the sources after it were not started"
