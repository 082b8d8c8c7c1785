"""Kinds are checked against the registry when the catalog loads: an unknown kind, a kind given an archive type it
cannot lay out, or a kind without the folders it needs is an error before any byte is fetched."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from llavamix.catalog import KINDS, load_catalog
from llavamix.catalog.kinds import ARCHIVES
from tests.catalog.test_schema import error_for, source_toml, write
from tests.httpserver import LoopbackServer

MISMATCHES = [(kind, archive) for kind in KINDS for archive in ARCHIVES if archive not in KINDS[kind].archives]


def test_a_misspelled_kind_is_refused_with_the_closest_name(tmp_path: Path) -> None:
    message = error_for(tmp_path, source_toml(kind="vqa_colection"))
    assert "source 'mine': kind 'vqa_colection' is unknown; did you mean 'vqa_collection'?" in message
    assert "known kinds: archive, mix_json, vqa_collection, sam, ocrvqa" in message


@pytest.mark.parametrize(("kind", "archive"), MISMATCHES)
def test_a_kind_refuses_archive_types_it_cannot_lay_out(tmp_path: Path, kind: str, archive: str) -> None:
    allowed = " | ".join(KINDS[kind].archives)
    message = error_for(tmp_path, source_toml(kind=kind, archive=archive, image_prefixes=["a/images"]))
    assert f"source 'mine': kind {kind!r} needs archive = {allowed}, not {archive!r}" in message


def test_mismatches_cover_every_kind_with_a_restriction() -> None:
    assert {kind for kind, _ in MISMATCHES} == {"mix_json", "vqa_collection", "sam", "ocrvqa"}


def test_a_collection_without_its_folders_is_refused(tmp_path: Path) -> None:
    message = error_for(tmp_path, source_toml(kind="vqa_collection"))
    assert "kind 'vqa_collection' lands its members by image_prefixes" in message


@pytest.mark.parametrize("name", ["default", "sample"])
def test_builtin_catalogs_fit_the_registry(name: str) -> None:
    kinds = {s.name: s.kind for s in load_catalog(name).sources}
    assert kinds["mix1m"] == "mix_json" and kinds["ocr_vqa"] == "ocrvqa" and kinds["sam"] == "sam"
    assert set(kinds.values()) == set(KINDS)


@pytest.mark.parametrize("command", ["prepare", "fetch"])
def test_a_misspelled_kind_fails_before_any_request(tmp_path: Path, command: str) -> None:
    """A typo in one source's kind used to be found after its download (a 30 GB one for the real collection);
    now nothing is fetched at all, not even the sources listed before it."""
    with LoopbackServer() as server:
        good = server.add("/coco/train2017.zip", b"PK\x05\x06" + bytes(18))
        late = server.add("/vqa/vqa_collection.zip", b"PK\x05\x06" + bytes(18))
        text = source_toml(name="coco", url=good, into="coco")
        text += source_toml(name="vqa_collection", url=late, into=".", kind="vqa_colection")
        catalog = write(tmp_path, text)
        cmd = [sys.executable, "-m", "llavamix", command, "--catalog", str(catalog), "--root", str(tmp_path / "d")]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
        assert server.requests == []
    assert proc.returncode == 1, proc.stderr
    assert "source 'vqa_collection': kind 'vqa_colection' is unknown; did you mean 'vqa_collection'?" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "d" / "coco").exists()
